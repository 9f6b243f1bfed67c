"""Shared fixture runner: `run_all(ops)` runs every case in fixtures/cases with the given ops."""

from __future__ import annotations

import json
import math
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def cases():
    return sorted((FIXTURES / "cases").rglob("*.json"))


def text(inp):
    if "text" in inp:
        return inp["text"]
    return (FIXTURES / inp["file"]).read_text(encoding="utf-8")


def matches(expected, actual, tol, path="result"):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise AssertionError(f"{path}: expected an object, got {actual!r}")
        for k, v in expected.items():
            matches(v, actual.get(k), tol, f"{path}.{k}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise AssertionError(f"{path}: expected {len(expected)} items, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            matches(e, a, tol, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if expected != actual or type(expected) is not type(actual):
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or not math.isclose(expected, actual, rel_tol=0, abs_tol=tol):
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
    else:
        raise AssertionError(f"{path}: unsupported expected value {expected!r}")


def check(case_path, run, error_of):
    """`run(op, input)` returns the result; `error_of(exc)` returns (code, field) or None."""
    case = json.loads(case_path.read_text(encoding="utf-8"))
    tol = case.get("tolerance", 0)
    try:
        result = run(case["op"], case["input"])
    except Exception as exc:  # noqa: BLE001 - every binding error is checked below
        got = error_of(exc)
        if got is None or "error" not in case:
            raise
        code, field = got
        matches(case["error"], {"code": code, "field": field}, 0, "error")
        return
    if "error" in case:
        raise AssertionError(f"expected error {case['error']}, got {result!r}")
    matches(case["expected"], result, tol)

"""Every fixture case, through the Python binding."""

import pytest

import mastery
from fixture_runner import cases, check, text


def run(op, inp):
    if op in ("case_summary", "case_import"):
        return mastery.Framework.from_case_json(text(inp)).summary()
    if op == "case_roundtrip":
        exported = mastery.Framework.from_case_json(text(inp)).to_case_json()
        return mastery.Framework.from_case_json(exported).summary()
    if op == "case_query":
        f = mastery.Framework.from_case_json(text(inp))
        out = []
        for q in inp["queries"]:
            name = q["query"]
            if name == "find_by_code":
                out.append(f.find_by_code(q["code"]))
            elif name == "topological_order":
                out.append(f.topological_order())
            else:
                out.append(getattr(f, name)(q["id"]))
        return out
    if op == "xapi_ingest":
        return mastery.ingest_xapi(text(inp), inp.get("mapping"))
    if op == "caliper_ingest":
        return mastery.ingest_caliper(text(inp), inp.get("mapping"))
    if op == "caliper_validate":
        return mastery.validate_caliper(text(inp))
    if op == "pybkt_csv_ingest":
        return mastery.ingest_pybkt_csv(text(inp))
    raise ValueError(op)


def error_of(exc):
    if isinstance(exc, mastery.MasteryError):
        return exc.code, exc.field
    return None


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fixture(case):
    check(case, run, error_of)


def test_there_are_fixtures():
    assert len(cases()) >= 20

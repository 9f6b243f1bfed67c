"""Every fixture case, through the uniffi-generated Python bindings."""

import enum

import pytest

import mastery_ffi as m
from fixture_runner import cases, check, text

# uniffi error variants → the core's stable codes.
CODES = {
    "InvalidInput": "invalid_input",
    "Parse": "parse_error",
    "UnsupportedVersion": "unsupported_version",
    "Cycle": "cycle",
    "NotFound": "not_found",
    "AccessDenied": "access_denied",
    "Store": "store_error",
    "Internal": "internal",
}


def plain(value):
    """uniffi records, enums and lists → JSON-like data."""
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def mapping(inp):
    raw = inp.get("mapping") or {}
    return m.EvidenceMapping(
        competencies=raw.get("competencies", {}),
        kinds={k: m.EvidenceKind[v.upper()] for k, v in raw.get("kinds", {}).items()},
        courses=raw.get("courses", {}),
        default_time=raw.get("default_time"),
    )


def run(op, inp):
    if op in ("case_summary", "case_import"):
        return plain(m.Framework.from_case_json(text(inp)).summary())
    if op == "case_roundtrip":
        exported = m.Framework.from_case_json(text(inp)).to_case_json()
        return plain(m.Framework.from_case_json(exported).summary())
    if op == "case_query":
        f = m.Framework.from_case_json(text(inp))
        out = []
        for q in inp["queries"]:
            name = q["query"]
            if name == "find_by_code":
                out.append(plain(f.find_by_code(q["code"])))
            elif name == "topological_order":
                out.append(plain(f.topological_order()))
            else:
                out.append(plain(getattr(f, name)(q["id"])))
        return out
    if op == "xapi_ingest":
        return plain(m.ingest_xapi(text(inp), mapping(inp)))
    if op == "caliper_ingest":
        return plain(m.ingest_caliper(text(inp), mapping(inp)))
    if op == "caliper_validate":
        return m.validate_caliper(text(inp))
    if op == "pybkt_csv_ingest":
        return plain(m.ingest_pybkt_csv(text(inp)))
    raise ValueError(op)


def error_of(exc):
    if isinstance(exc, m.MasteryError):
        return CODES[type(exc).__name__], getattr(exc, "field", None)
    return None


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.stem)
def test_fixture(case):
    check(case, run, error_of)


def test_errors_are_typed_variants():
    with pytest.raises(m.MasteryError.InvalidInput) as info:
        m.Framework.from_case_json("{}")
    assert info.value.field == "CFDocument"

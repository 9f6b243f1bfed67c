"""Python-specific behaviour: the exception class, dict input, DataFrames."""

import json

import pytest

import mastery


def test_errors_are_real_exceptions_with_a_code():
    with pytest.raises(mastery.MasteryError) as info:
        mastery.Framework.from_case_json("{}")
    assert isinstance(info.value, Exception)
    assert info.value.code == "invalid_input"
    assert info.value.field == "CFDocument"


def test_documents_may_be_dicts_and_errors_hold_no_learner_data():
    statement = {"actor": {"mbox": "mailto:secret.person@example.org"}, "verb": {"id": "not an iri"},
                 "object": {"id": "http://example.com/a"}}
    report = mastery.ingest_xapi([statement])
    assert report["accepted"] == []
    assert report["rejected"][0]["field"] == "verb.id"
    assert "secret.person" not in json.dumps(report["rejected"])


def test_bad_mapping_shape_is_a_mastery_error_naming_the_argument():
    with pytest.raises(mastery.MasteryError) as info:
        mastery.ingest_xapi("[]", {"competencies": 3})
    assert (info.value.code, info.value.field) == ("invalid_input", "mapping")


def test_framework_queries():
    package = {
        "CFDocument": {"identifier": "doc", "uri": "https://x/doc", "creator": "c", "title": "T",
                       "lastChangeDateTime": "2024-01-01T00:00:00Z"},
        "CFItems": [{"identifier": i, "fullStatement": i, "uri": "https://x/" + i,
                     "lastChangeDateTime": "2024-01-01T00:00:00Z"} for i in "ab"],
        "CFAssociations": [],
    }
    f = mastery.Framework.from_case_json(json.dumps(package))
    assert len(f) == 2 and f.title == "T"
    assert json.loads(f.to_case_json()) == package
    with pytest.raises(mastery.MasteryError) as info:
        f.children("zzz")
    assert info.value.code == "not_found"


def test_pybkt_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"user_id": ["u1", "u1"], "skill_name": ["s", "s"], "correct": [1, 0], "order_id": [1, 2]})
    report = mastery.ingest_pybkt_csv(df)
    frame = mastery.evidence_frame(report)
    assert list(frame["success"]) == [True, False]


def test_stubs_cover_the_public_api():
    import ast
    from pathlib import Path

    stub = Path(mastery.__file__).with_name("__init__.pyi")
    declared = {
        node.name for node in ast.parse(stub.read_text()).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    } | {node.target.id for node in ast.parse(stub.read_text()).body if isinstance(node, ast.AnnAssign)} | {
        # explicit re-exports (`from .tables import ArrowTable as ArrowTable`): the typed modules' own names
        alias.asname for node in ast.parse(stub.read_text()).body if isinstance(node, ast.ImportFrom)
        for alias in node.names if alias.asname == alias.name
    }
    missing = set(mastery.__all__) - declared
    assert not missing, f"public names without a stub: {missing}"
    assert stub.with_name("py.typed").exists()

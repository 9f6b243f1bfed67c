"""Dashboard data (heatmaps, class summaries, ring charts, streaks, progress) and reports as Arrow
tables, read by pyarrow and Polars through ``__arrow_c_stream__``; the badge gallery already is one."""

import pytest

import mastery

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")


def scale():
    return mastery.proficiency_scale("canvas")


def test_class_heatmap_as_arrow_long_format():
    view = mastery.class_heatmap({"ada": {"add": 0.9, "sub": 0.2}, "bo": {"add": 0.4}},
                                 [{"id": "add", "label": "Addition"}, {"id": "sub", "label": "Subtraction"}], scale())
    table = view.to_arrow()
    assert isinstance(table, mastery.ArrowTable) and hasattr(table, "__arrow_c_stream__")
    t = pa.table(table)
    assert t.column_names == ["row", "row_label", "column", "column_label", "value", "text", "color"]
    assert t.schema.field("value").type == pa.float64() and t.schema.field("row").type == pa.string()
    assert t.column("value").to_pylist() == [0.9, 0.2, 0.4, None]  # bo has no sub: null, not NaN
    df = pl.DataFrame(table)
    assert df.filter(pl.col("row") == "ada")["column"].to_list() == ["add", "sub"]
    assert df["value"].null_count() == 1


def test_class_summary_as_arrow():
    summary = mastery.class_summary({"ada": {"add": 4, "sub": 1}, "bo": {"add": 2}}, scale())
    assert isinstance(summary, list) and summary[0]["competency"] == "add"
    df = summary.to_arrow().to_polars()
    assert df["competency"].to_list() == ["add", "sub"]
    assert df["learners"].dtype == pl.Int64 and df["mean"].dtype == pl.Float64
    assert df.filter(pl.col("competency") == "add")["count: Exceeds Mastery"].item() == 1
    assert pa.table(summary.to_arrow()).num_rows == 2


def test_other_views_as_arrow():
    framework = mastery.Framework.from_case_json({
        "CFDocument": {"identifier": "d", "title": "Maths"},
        "CFItems": [{"identifier": i, "fullStatement": i} for i in ("number", "add", "sub")],
        "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf", "originNodeURI": {"identifier": c},
                            "destinationNodeURI": {"identifier": "number"}} for c in ("add", "sub")]})
    ring = mastery.ring_chart(framework, {"add": {"value": 1.0, "mastered": True}}, scale(), ["number"])
    assert pa.table(ring.to_arrow()).to_pylist()[0]["mastered"] == 1

    report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"}],
                                     "2024-05-02T20:00:00Z", "Europe/Paris")
    days = pl.DataFrame(mastery.streak_tracker(report, "2024-05-02", 2).to_arrow())
    assert days.height == 14 and days.filter(pl.col("state") == "met")["date"].to_list() == ["2024-05-01"]
    calendar = pa.table(mastery.activity_calendar(report).to_arrow())
    assert calendar.num_rows == 7

    states = [{"competency": "add", "history": [{"evidence": "e1", "score": 2, "at": "2024-05-01T10:00:00Z"},
                                                {"evidence": "e2", "score": 4, "at": "2024-05-08T10:00:00Z"}]}]
    progress = pl.DataFrame(mastery.progress_over_time(states, scale(), {"add": "Addition"}).to_arrow())
    assert progress["value"].to_list() == [2.0, 3.3] and progress["evidence"].to_list() == ["e1", "e2"]


def test_reports_as_arrow():
    fairness = pa.table(mastery.fairness_report([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0], ["a", "a", "b", "b"]).to_arrow())
    assert fairness.column("group").to_pylist() == ["a", "b"]
    evidence = pl.DataFrame(mastery.ingest_pybkt_csv("user_id,skill_name,correct\nu1,add,1\nu1,add,0\n").to_arrow())
    assert evidence["success"].to_list() == [True, False] and evidence["score"].to_list() == [1.0, 0.0]


def test_an_empty_view_keeps_its_columns():
    view = mastery.class_heatmap({}, [], scale())
    t = pa.table(view.to_arrow())
    assert t.num_rows == 0 and "value" in t.column_names


def test_native_table_builder_types_and_errors():
    t = pa.table(mastery.ArrowTable(mastery._mastery.records_arrow(
        {"b": [True, None], "i": [1, None], "f": [1, 2.5], "s": ["x", None], "mixed": [1, "a"]})))
    assert [f.type for f in t.schema] == [pa.bool_(), pa.int64(), pa.float64(), pa.string(), pa.string()]
    assert t.column("mixed").to_pylist() == ["1", "a"]
    with pytest.raises(mastery.MasteryError) as info:
        mastery._mastery.records_arrow({"a": [1], "b": [1, 2]})
    assert info.value.field == "columns"
    with pytest.raises(mastery.MasteryError):
        mastery._mastery.records_arrow({"a": [2 ** 70]})

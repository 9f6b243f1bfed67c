"""mastery.spark in Spark local mode: BKT per skill equals the single-machine fit, risk scores and
reasons equal the estimator's, xAPI ingested from a column of JSON strings."""

import json
import os
import sys

import numpy as np
import pytest

import mastery

pyspark = pytest.importorskip("pyspark")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from mastery import spark as mspark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("mastery-tests")
               .config("spark.sql.shuffle.partitions", "2").config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "1g").getOrCreate())
    yield session
    session.stop()


def responses(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for learner in range(60):
        for skill in ["add", "sub", "mul", "div", "frac"]:
            p = 0.3
            for t in range(8):
                rows.append((f"u{learner}", skill, int(rng.random() < p), t))
                p = min(0.95, p + 0.1)
    df = pd.DataFrame(rows, columns=["user_id", "skill_name", "correct", "order_id"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # shuffled: order_id orders


def test_fit_bkt_per_skill_equals_the_single_machine_fit(spark):
    df = responses()
    ours = mspark.fit_bkt(spark.createDataFrame(df).repartition(3), num_fits=2, seed=5, forgets=True)
    reference = mastery.BKTModel(seed=5, num_fits=2).fit(data=df.sort_values(["order_id"], kind="stable"), forgets=True)
    a, b = json.loads(ours.to_json()), json.loads(reference.to_json())
    assert a["model"]["options"] == b["model"]["options"]
    assert sorted(a["model"]["skills"]) == sorted(b["model"]["skills"]) == ["add", "div", "frac", "mul", "sub"]
    worst = 0.0
    for skill, m in b["model"]["skills"].items():
        for key, values in m["params"].items():
            got = a["model"]["skills"][skill]["params"][key]
            values, got = (values, got) if isinstance(values, list) else ([values], [got])
            worst = max([worst] + [abs(x - y) for x, y in zip(values, got)])
    # The same EM from the same seeded starts: equal up to the order of floating-point sums.
    assert worst <= 1e-9, worst
    predictions = ours.predict_table(df).to_pandas()
    assert np.allclose(predictions["correct_predictions"], reference.predict_table(df).to_pandas()["correct_predictions"],
                       atol=1e-9)


def skill_params(model):
    return {skill: m["params"] for skill, m in json.loads(model.to_json())["model"]["skills"].items()}


def close(a, b):
    assert sorted(a) == sorted(b)
    for skill, params in b.items():
        for key, values in params.items():
            got = a[skill][key]
            values, got = (values, got) if isinstance(values, list) else ([values], [got])
            assert np.allclose(values, got, rtol=0, atol=1e-9), (skill, key)


def test_fit_bkt_direct_scan_reads_row_groups_clustered_by_skill(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = responses(3).sort_values(["skill_name"], kind="stable")
    # Two files; "div" spans both, "frac" spans two row groups; "add"+"mul" share one row group.
    # Shuffled within each skill (order_id orders the rows).
    div = df[df.skill_name == "div"]
    groups = [pd.concat([df[df.skill_name == "add"], div.iloc[5:]]), df[df.skill_name == "frac"].iloc[:200],
              df[df.skill_name == "frac"].iloc[200:], df[df.skill_name == "mul"], df[df.skill_name == "sub"]]
    pq.write_table(pa.Table.from_pandas(pd.concat(groups[:1]), preserve_index=False), tmp_path / "a.parquet")
    with pq.ParquetWriter(tmp_path / "b.parquet", pa.Table.from_pandas(groups[1], preserve_index=False).schema) as w:
        w.write_table(pa.Table.from_pandas(div.iloc[:5], preserve_index=False))
        for g in groups[1:]:
            w.write_table(pa.Table.from_pandas(g, preserve_index=False))
    reference = mastery.BKTModel(seed=3, num_fits=2).fit(data=df)
    frame = spark.read.parquet(str(tmp_path))
    direct = mspark.fit_bkt(frame, num_fits=2, seed=3, direct_scan=True)
    shuffled = mspark.fit_bkt(frame, num_fits=2, seed=3, direct_scan=False)
    close(skill_params(direct), skill_params(reference))
    close(skill_params(shuffled), skill_params(reference))
    assert direct.to_json() == mastery.BKTModel.from_json(direct.to_json()).to_json()
    plan = mspark._direct_scan_plan(frame, {"user_id": "user_id", "skill_name": "skill_name", "correct": "correct",
                                            "order_id": "order_id"})
    # Row groups: a(add..div), b(div), b(frac), b(frac), b(mul), b(sub): {add,div}, frac, mul, sub.
    assert sorted(sum(len(gs) for _, gs in cluster) for task in plan for cluster in task) == [1, 1, 2, 2]


def test_fit_bkt_direct_scan_says_why_it_does_not_apply(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = responses(4)  # shuffled: every row group holds every skill
    with pq.ParquetWriter(tmp_path / "a.parquet", pa.Table.from_pandas(df, preserve_index=False).schema) as w:
        for part in (df.iloc[:300], df.iloc[300:600], df.iloc[600:]):
            w.write_table(pa.Table.from_pandas(part, preserve_index=False))
    frame = spark.read.parquet(str(tmp_path))
    for data, reason in [(frame, "not clustered by skill"), (frame.filter("correct >= 0"), "not a plain parquet scan"),
                         (spark.createDataFrame(df), "not a plain parquet scan")]:
        with pytest.raises(mastery.MasteryError) as e:
            mspark.fit_bkt(data, num_fits=1, direct_scan=True)
        assert e.value.code == "invalid_input" and e.value.field == "direct_scan" and reason in str(e.value)
    # The default falls back to the shuffle, with the same answer.
    close(skill_params(mspark.fit_bkt(frame, num_fits=1, seed=2)),
          skill_params(mastery.BKTModel(seed=2, num_fits=1).fit(data=df)))


def test_score_risk_per_partition_equals_the_estimator(spark):
    x, y, names = mastery.synthetic_risk_data(3000, 9)
    clf = mastery.RiskClassifier(n_estimators=30, random_state=1, n_jobs=1).fit(pd.DataFrame(x, columns=names), y)
    frame = pd.DataFrame(x, columns=names).assign(learner=[f"l{i}" for i in range(len(x))])
    scored = mspark.score_risk(spark.createDataFrame(frame).repartition(4), clf, explain=2).toPandas()
    scored = scored.set_index("learner").loc[frame["learner"]]
    assert np.array_equal(scored["score"].to_numpy(), clf.predict_proba(x)[:, 1])
    explained = clf.explain_table(x[:50], top=2).to_pandas()
    assert scored["reason_1"].iloc[:50].tolist() == explained["reason_1"].tolist()
    assert "contribution_2" in scored.columns
    with pytest.raises(mastery.MasteryError) as e:
        mspark.score_risk(spark.createDataFrame(frame[["learner"]]), clf)
    assert e.value.field == "features"


def test_ingest_xapi_from_a_column_of_json(spark):
    good = {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://lms.example/quiz/7"}, "result": {"score": {"scaled": 0.8}},
            "timestamp": "2026-01-01T00:00:00Z"}
    statements = [json.dumps(good), json.dumps({"verb": {}}), "not json"]
    frame = spark.createDataFrame([(s,) for s in statements], "statement string")
    rows = mspark.ingest(frame, mapping={"competencies": {"https://lms.example/quiz/7": ["fractions"]}}).collect()
    accepted = [r for r in rows if r["id"] is not None]
    rejected = [r for r in rows if r["rejected_code"] is not None]
    single = mastery.ingest_xapi([good], {"competencies": {"https://lms.example/quiz/7": ["fractions"]}})["accepted"][0]
    assert len(accepted) == 1 and json.loads(accepted[0]["evidence"]) == single
    assert accepted[0]["competencies"] == ["fractions"] and accepted[0]["scaled"] == 0.8
    assert {r["rejected_code"] for r in rejected} == {"invalid_input", "parse_error"}


def test_spark_docstring_examples(spark):
    """mastery.spark's examples, with ``spark`` the local session."""
    import doctest

    result = doctest.testmod(mspark, extraglobs={"spark": spark},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted >= 8

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

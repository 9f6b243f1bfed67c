"""The risk feature builder and the OULAD loader on tables."""

import math
from pathlib import Path

import numpy as np
import pytest

import mastery

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")
OULAD = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "oulad"


def test_features_use_only_what_happened_before_the_cutoff():
    events = pl.DataFrame({"learner": ["amy", "amy", "amy", "bo"], "day": [1.0, 2.0, 50.0, 3.0],
                           "clicks": [5, 7, 100, 1], "seconds": [60.0, 120.0, 999.0, 30.0]})
    submissions = pa.table({"learner": ["amy", "bo", "cy"], "due_day": [5.0, 5.0, 5.0], "weight": [10.0] * 3,
                            "submitted_day": [4.0, None, 6.0], "score": [90.0, None, 70.0]})
    t = mastery.risk_features(10, events=events, submissions=submissions).to_pandas().set_index("learner")
    assert list(t.index) == ["amy", "bo", "cy"]
    assert t.loc["amy", "active_days"] == 2 and t.loc["amy", "clicks"] == 12  # day 50 is after the cutoff
    assert t.loc["cy", "active_days"] == 0  # tracked, no activity: zero, not missing
    assert t.loc["bo", "missing_submissions"] == 1 and t.loc["cy", "late_submissions"] == 1
    assert t.loc["amy", "grade_mean"] == 90
    # Without an events table, engagement is missing (NaN), not zero.
    u = mastery.risk_features(10, submissions=submissions).to_pandas()
    assert math.isnan(u["active_days"][0])
    # Moving the cutoff later changes the features: they depend on it.
    later = mastery.risk_features(60, events=events).to_pandas().set_index("learner")
    assert later.loc["amy", "clicks"] == 112


def test_feature_errors_name_the_column():
    with pytest.raises(mastery.MasteryError) as e:
        mastery.risk_features(10, events=pa.table({"learner": ["a"]}))
    assert e.value.code == "invalid_input" and e.value.field == "day"
    with pytest.raises(mastery.MasteryError) as e:
        mastery.risk_features(10, events=pa.table({"learner": ["a"], "day": ["monday"]}))
    assert e.value.code == "invalid_input" and e.value.field == "day"


@pytest.fixture(scope="module")
def oulad():
    return mastery.load_oulad(OULAD, cutoff=90)


def test_oulad_loader_gives_a_labelled_table_that_trains(oulad):
    df = oulad.table.to_polars()
    assert {"id", "presentation", "at_risk", "group_gender"} <= set(df.columns)
    assert "gender" not in oulad.features  # protected attributes are opt-in
    assert set(df["at_risk"].unique().to_list()) == {0.0, 1.0}
    train = df.filter(~pl.col("presentation").str.ends_with("2014J"))
    test = df.filter(pl.col("presentation").str.ends_with("2014J"))
    clf = mastery.RiskClassifier(n_estimators=100, random_state=0, feature_specs=oulad.feature_specs)
    clf.fit(train.select(oulad.features), train["at_risk"].to_numpy())
    p = clf.predict_proba(test.select(oulad.features))[:, 1]
    auc = mastery.risk_metrics(list(p), list(test["at_risk"].to_numpy()))["auc"]
    assert auc > 0.75, auc
    reasons = clf.explain_table(test.select(oulad.features).head(3), top=1).to_pandas()
    assert reasons["reason_1"].notna().any()


def test_oulad_options_and_errors(tmp_path):
    some = mastery.load_oulad(OULAD, cutoff=60, presentations=["AAA/2013J"], include_protected=True)
    df = some.table.to_polars()
    assert df["presentation"].unique().to_list() == ["AAA/2013J"] and "gender" in some.features
    with pytest.raises(mastery.MasteryError) as e:
        mastery.load_oulad(tmp_path, cutoff=60)
    assert e.value.code == "not_found"
    with pytest.raises(mastery.MasteryError) as e:
        mastery.load_oulad(123, cutoff=60)
    assert e.value.code == "invalid_input" and e.value.field == "path"


ACHIEVEMENTS = [
    {"id": "https://b.example/fractions", "name": "Fractions", "description": "D", "criteria": "C", "valid_days": 365,
     "rule": {"rule": "mastery", "competency": "fractions"}},
    {"id": "https://b.example/streak", "name": "Streak", "description": "D", "criteria": "C",
     "rule": {"rule": "streak", "periods": 7}},
]


def test_badge_gallery_as_a_table():
    g = mastery.badge_gallery(ACHIEVEMENTS, {"mastered": ["fractions"], "streak": 3}, "amy",
                              "2026-03-01T00:00:00Z").to_pandas()
    assert g["status"].tolist() == ["earned", "in_progress"]
    assert g["progress"].tolist() == [1.0, pytest.approx(3 / 7)]
    assert g["valid_until"][0].startswith("2027-03-01")
    # Awards given as an Arrow table; an expired one shows as expired, a revoked one as revoked.
    awards = pa.table({"achievement": ["https://b.example/fractions", "https://b.example/streak"], "version": [1, 1],
                       "credential_id": ["urn:uuid:1", "urn:uuid:2"],
                       "awarded_at": ["2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z"],
                       "revoked": [None, "issued in error"]})
    later = mastery.badge_gallery(ACHIEVEMENTS, {}, "amy", "2026-03-01T00:00:00Z", awards).to_pandas()
    assert later["status"].tolist() == ["expired", "revoked"]
    assert later["credential_id"].tolist() == ["urn:uuid:1", "urn:uuid:2"]
    with pytest.raises(mastery.MasteryError) as e:
        mastery.badge_gallery([{"id": "x"}], {}, "amy", "2026-03-01T00:00:00Z")
    assert e.value.code == "invalid_input" and e.value.field == "achievements"

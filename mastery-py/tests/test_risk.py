"""RiskClassifier: scikit-learn's estimator API on numpy and pandas, explanations, model files."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest

import mastery


@pytest.fixture(scope="module")
def data():
    x, y, names = mastery.synthetic_risk_data(6000, 17)
    return pd.DataFrame(x, columns=names), y


def test_fit_predict_on_a_dataframe(data):
    df, y = data
    clf = mastery.RiskClassifier(n_estimators=40, num_leaves=15, random_state=3, n_jobs=1)
    assert clf.fit(df.iloc[:5000], y[:5000]) is clf
    p = clf.predict_proba(df.iloc[5000:])
    assert p.shape == (1000, 2) and np.allclose(p.sum(axis=1), 1.0)
    assert mastery.risk_metrics(list(p[:, 1]), list(y[5000:]))["auc"] > 0.75
    assert set(np.unique(clf.predict(df.iloc[5000:]))) <= {0.0, 1.0}
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.feature_importances_.shape == (30,) and clf.feature_importances_.sum() > 0
    # Missing values are native: NaN rows are scored, not refused.
    assert df.isna().to_numpy().any()


def test_params_follow_the_estimator_protocol():
    clf = mastery.RiskClassifier(num_leaves=7)
    params = clf.get_params()
    assert params["num_leaves"] == 7 and params["n_estimators"] == 100 and "min_child_samples" in params
    assert clf.set_params(learning_rate=0.05).learning_rate == 0.05
    with pytest.raises(ValueError):
        clf.set_params(not_a_param=1)
    clone = type(clf)(**clf.get_params())
    assert clone.get_params() == clf.get_params()


def test_same_seed_same_model_and_thread_count_does_not_matter(data):
    df, y = data
    a = mastery.RiskClassifier(n_estimators=10, subsample=0.8, colsample_bytree=0.8, random_state=9, n_jobs=1).fit(df, y)
    b = mastery.RiskClassifier(n_estimators=10, subsample=0.8, colsample_bytree=0.8, random_state=9, n_jobs=2).fit(df, y)
    assert a.to_json() == b.to_json()


def test_explanations_add_up_and_read_as_words(data):
    df, y = data
    specs = [{"name": n, "display": n, "reason": n.replace("_", " ") + " is {value}", "monotone": 0} for n in df.columns]
    clf = mastery.RiskClassifier(n_estimators=20, feature_specs=specs).fit(df, y)
    [e] = clf.explain(df.iloc[:1], top=3)
    assert len(e["reasons"]) <= 3 and all(" is " in r["text"] for r in e["reasons"])
    phi = clf.contributions(df.iloc[:5])
    margin = np.log(clf.predict_proba(df.iloc[:5])[:, 1] / clf.predict_proba(df.iloc[:5])[:, 0])
    assert np.allclose(phi.sum(axis=1), margin, atol=1e-9)
    assert math.isclose(e["score"], clf.predict_proba(df.iloc[:1])[0, 1], rel_tol=0, abs_tol=0)


def test_model_files_round_trip_and_errors_are_typed(data, tmp_path):
    df, y = data
    clf = mastery.RiskClassifier(n_estimators=15, early_stopping_rounds=3).fit(df.iloc[:4000], y[:4000], eval_set=[(df.iloc[4000:], y[4000:])])
    assert clf.best_iteration_ is not None and clf.best_iteration_ <= 15
    path = tmp_path / "model.json"
    clf.save(path)
    loaded = mastery.RiskClassifier.load(path)
    assert (loaded.predict_proba(df)[:, 1] == clf.predict_proba(df)[:, 1]).all()
    again = pickle.loads(pickle.dumps(clf.model_))
    assert again.to_json() == clf.to_json()
    with pytest.raises(mastery.MasteryError) as e:
        clf.predict_proba(df.iloc[:, :5])
    assert e.value.code == "invalid_input"
    with pytest.raises(mastery.MasteryError) as e:
        mastery.RiskClassifier(num_leaves=1).fit(df, y)
    assert e.value.field == "num_leaves"
    with pytest.raises(ValueError):
        mastery.RiskClassifier().predict_proba(df)


def test_bands_and_drift():
    assert mastery.risk_band(0.62, "high") == "high"
    assert mastery.risk_band(0.62) == "medium"
    assert mastery.risk_band(0.1, "medium") is None
    base = [float(i % 100) for i in range(1000)]
    assert mastery.population_stability_index(base, [v + 40 for v in base]) > 0.2

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
    assert a.model_.to_json() == b.model_.to_json()


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
    assert again.to_json() == clf.model_.to_json()
    with pytest.raises(mastery.MasteryError) as e:
        clf.predict_proba(df.iloc[:, :5])
    assert e.value.code == "invalid_input" and e.value.field == "features"
    with pytest.raises(mastery.MasteryError) as e:
        mastery.RiskClassifier(num_leaves=1).fit(df, y)
    assert e.value.field == "num_leaves"
    with pytest.raises(ValueError):
        mastery.RiskClassifier().predict_proba(df)


def test_reordered_columns_are_scored_by_name_and_wrong_columns_refused(data):
    df, y = data
    clf = mastery.RiskClassifier(n_estimators=30, random_state=1).fit(df.iloc[:5000], y[:5000])
    test = df.iloc[5000:]
    expected = clf.predict_proba(test)
    shuffled = test[list(reversed(test.columns))]
    assert (clf.predict_proba(shuffled) == expected).all()
    assert (clf.contributions(shuffled) == clf.contributions(test)).all()
    assert clf.explain(shuffled.iloc[:2]) == clf.explain(test.iloc[:2])
    # A missing column and an extra one: refused, naming them (a ValueError, as scikit-learn raises).
    wrong = test.drop(columns=[test.columns[3]]).assign(surprise=1.0)
    with pytest.raises(ValueError, match=rf"missing the columns \['{test.columns[3]}'\].*'surprise'") as e:
        clf.predict_proba(wrong)
    assert isinstance(e.value, mastery.MasteryError) and e.value.code == "invalid_input"
    with pytest.raises(ValueError, match="surprise"):
        clf.predict_proba(test.assign(surprise=1.0))
    # A numpy array is taken in fit order; a wrong width is refused.
    assert (clf.predict_proba(test.to_numpy()) == expected).all()
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(test.to_numpy()[:, :5])


def test_not_fitted_is_sklearns_error():
    from mastery.risk import NotFittedError

    for call in ("predict_proba", "predict", "contributions", "explain"):
        with pytest.raises(NotFittedError):
            getattr(mastery.RiskClassifier(), call)(np.zeros((1, 3)))
    with pytest.raises(NotFittedError):
        mastery.RiskClassifier().to_json()
    sklearn = pytest.importorskip("sklearn")
    from sklearn.exceptions import NotFittedError as SkNotFitted

    assert NotFittedError is SkNotFitted


def test_early_stopping_defaults_follow_scikit_learn_and_report_n_iter():
    params = mastery.RiskClassifier().get_params()
    assert (params["early_stopping"], params["validation_fraction"], params["n_iter_no_change"]) == ("auto", 0.1, 10)
    # "auto": on above 10,000 training rows, as scikit-learn's HistGradientBoostingClassifier.
    x, y, _ = mastery.synthetic_risk_data(12_000, 3)
    big = mastery.RiskClassifier(n_estimators=400, learning_rate=0.5, random_state=1, n_jobs=1).fit(x, y)
    assert big.best_iteration_ is not None and big.n_iter_ == big.best_iteration_ < 400
    # Deterministic from random_state; the model file keeps the best iteration.
    again = mastery.RiskClassifier(n_estimators=400, learning_rate=0.5, random_state=1, n_jobs=1).fit(x, y)
    assert again.to_json() == big.to_json()
    loaded = mastery.RiskClassifier.from_json(big.to_json())
    assert (loaded.best_iteration_, loaded.n_iter_) == (big.best_iteration_, big.n_iter_)
    # Off at or below 10,000 rows, and when asked.
    small = mastery.RiskClassifier(n_estimators=25, n_jobs=1).fit(x[:2000], y[:2000])
    assert small.best_iteration_ is None and small.n_iter_ == 25
    off = mastery.RiskClassifier(n_estimators=25, early_stopping=False, n_jobs=1).fit(x, y)
    assert off.best_iteration_ is None and off.n_iter_ == 25
    # True holds out validation_fraction and stops after n_iter_no_change rounds without gain.
    on = mastery.RiskClassifier(n_estimators=400, learning_rate=0.5, early_stopping=True, validation_fraction=0.2,
                                n_iter_no_change=3, random_state=1, n_jobs=1).fit(x[:2000], y[:2000])
    assert on.n_iter_ == on.best_iteration_ < 400
    for bad in (dict(early_stopping="yes"), dict(early_stopping=True, validation_fraction=0.0),
                dict(early_stopping=True, n_iter_no_change=0)):
        with pytest.raises(ValueError):
            mastery.RiskClassifier(n_estimators=5, **bad).fit(x[:500], y[:500])


def test_parameters_and_feature_names_survive_save_and_load(data, tmp_path):
    df, y = data
    specs = [{"name": n, "display": n, "reason": n + " = {value}", "monotone": 0} for n in df.columns]
    clf = mastery.RiskClassifier(n_estimators=12, learning_rate=0.2, num_leaves=9, max_depth=6, subsample=0.9,
                                 random_state=np.int64(4), n_jobs=1, feature_specs=specs)
    clf.fit(df, np.where(y == 1, "risk", "ok"))
    path = tmp_path / "model.json"
    clf.save(path)
    loaded = mastery.RiskClassifier.load(path)
    assert loaded.get_params() == {**clf.get_params(), "random_state": 4}
    assert list(loaded.feature_names_in_) == list(df.columns) and loaded.n_features_in_ == 30
    assert list(loaded.classes_) == ["ok", "risk"]
    assert (loaded.predict(df) == clf.predict(df)).all()
    # Still checks names after loading: reordered columns are scored by name.
    assert (loaded.predict_proba(df[df.columns[::-1]]) == clf.predict_proba(df)).all()
    # The other runtimes load the same file (the host state is carried unread).
    assert mastery.NativeRiskModel.from_json(path.read_text()).feature_names == list(df.columns)
    # A model fitted on an array has no feature_names_in_, before and after loading.
    plain = mastery.RiskClassifier(n_estimators=3).fit(df.to_numpy(), y)
    assert not hasattr(plain, "feature_names_in_")
    assert not hasattr(mastery.RiskClassifier.from_json(plain.to_json()), "feature_names_in_")
    # A model file without host state (from another runtime) loads with the defaults.
    bare = mastery.RiskClassifier.from_json(clf.model_.to_json())
    assert bare.get_params() == mastery.RiskClassifier().get_params() and bare.n_features_in_ == 30


def test_polars_input_works_like_pandas(data):
    pl = pytest.importorskip("polars")
    df, y = data
    frame = pl.from_pandas(df)
    a = mastery.RiskClassifier(n_estimators=10, random_state=2).fit(frame, y)
    b = mastery.RiskClassifier(n_estimators=10, random_state=2).fit(df, y)
    assert a.model_.to_json() == b.model_.to_json()
    assert list(a.feature_names_in_) == list(df.columns)
    assert (a.predict_proba(frame) == b.predict_proba(df)).all()
    assert (a.predict_proba(frame.select(list(reversed(frame.columns)))) == b.predict_proba(df)).all()
    with pytest.raises(ValueError, match="missing the columns"):
        a.predict_proba(frame.drop(frame.columns[0]))


def test_sklearn_clone_and_pipeline(data):
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    df, y = data
    clf = mastery.RiskClassifier(n_estimators=8, num_leaves=7)
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(clf, df.iloc[:3000], y[:3000], cv=2, scoring="roc_auc")
    assert scores.shape == (2,) and (scores > 0.6).all()


def test_bands_and_drift():
    assert mastery.risk_band(0.62, "high") == "high"
    assert mastery.risk_band(0.62) == "medium"
    assert mastery.risk_band(0.1, "medium") is None
    base = [float(i % 100) for i in range(1000)]
    assert mastery.population_stability_index(base, [v + 40 for v in base]) > 0.2

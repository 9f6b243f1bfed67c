"""pyBKT's README examples, run against mastery's drop-in (``mastery.pybkt.Model``) on small
data from fixtures/data; where pyBKT is installed the same calls run on it for comparison."""

import math
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

from mastery.pybkt import Model  # noqa: E402

REF = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "bkt" / "pybkt_reference" / "inputs"

try:
    from pyBKT.models import Model as PyBKTModel
except ImportError:  # compared only where pyBKT is installed
    PyBKTModel = None


@pytest.fixture(scope="module")
def ct(tmp_path_factory):
    """Two skills, 200 learners each: a pyBKT-style CSV (and its frame)."""
    a = pd.read_csv(REF / "param_recovery_standard_seed3_attempts.csv")
    b = pd.read_csv(REF / "param_recovery_multigs_seed4_attempts.csv")
    a = a[a["user_id"].isin(a["user_id"].unique()[:200])].assign(skill_name="Plot imperfect radical")
    b = b[b["user_id"].isin(b["user_id"].unique()[:200])].assign(skill_name="Box and Whisker")
    b["user_id"] = "b" + b["user_id"].astype(str)
    df = pd.concat([a, b], ignore_index=True)
    path = tmp_path_factory.mktemp("ct") / "ct.csv"
    df.to_csv(path, index=False)
    return str(path), df


def mae(true_vals, pred_vals):
    return np.mean(np.abs(np.asarray(true_vals) - np.asarray(pred_vals)))


def test_fit_predict_evaluate(ct):
    path, df = ct
    model = Model(seed=42, num_fits=1)
    model.fit(data_path=path)
    preds = model.predict(data_path=path)
    assert {"correct_predictions", "state_predictions"} <= set(preds.columns)
    assert preds["correct_predictions"].between(0, 1).all()
    rmse = model.evaluate(data=df)
    assert 0 < rmse < 0.5
    assert model.evaluate(df) == rmse  # positional DataFrame is data, not a path
    auc = model.evaluate(data_path=path, metric="auc")
    assert 0.6 < auc <= 1
    both = model.evaluate(data_path=path, metric=["auc", mae])
    assert both[0] == auc and 0 < both[1] < 0.5


def test_predicted_columns_are_the_arrow_tables_and_writable(ct):
    """From pandas the predictions come back as numpy arrays taken without a copy: the same
    values as the Arrow path (logs sorted by learner and shuffled), and ordinary writable columns."""
    pytest.importorskip("pyarrow")
    _, df = ct
    model = Model(seed=42, num_fits=1).fit(data=df)
    for frame in (df, df.sample(frac=1.0, random_state=3)):
        preds = model.predict(data=frame)
        table = model.predict_table(frame)
        for name in ("correct_predictions", "state_predictions"):
            assert np.array_equal(preds[name].to_numpy(), table.column(name))
    preds.loc[preds.index[0], "correct_predictions"] = 0.25
    assert preds["correct_predictions"].iloc[0] == 0.25


def test_defaults_are_pybkts():
    model = Model()
    assert model.options["max_guess"] is None and model.options["max_slip"] is None
    # The multigs data's easy template guesses 0.4: without caps the fit finds it.
    df = pd.read_csv(REF / "param_recovery_multigs_seed4_attempts.csv")
    fitted = Model(num_fits=2).fit(data=df, multigs=True)
    guesses = sorted(fitted.params().xs("guesses", level="param")["value"])
    assert abs(guesses[1] - 0.4) < 0.05


def test_crossvalidate(ct):
    path, df = ct
    model = Model(seed=42, num_fits=1)
    auc = model.crossvalidate(data_path=path, folds=3, metric="auc")
    assert list(auc.columns) == ["auc"]
    rmse = model.crossvalidate(data=df, folds=3)
    assert list(rmse.columns) == ["rmse"]
    assert set(rmse.index) == {"Plot imperfect radical", "Box and Whisker"}
    assert rmse["rmse"].between(0, 0.6).all() and auc["auc"].between(0.5, 1).all()
    with pytest.raises(Exception):
        model.crossvalidate(data=df, folds=10**9)


def test_skills_is_a_regex(ct):
    path, _ = ct
    model = Model(seed=42, num_fits=1)
    model.fit(data_path=path, skills=".*Plot.*")
    assert list(model.coef_) == ["Plot imperfect radical"]
    model.fit(data_path=path, skills=["Box and Whisker"])
    assert list(model.coef_) == ["Box and Whisker"]
    with pytest.raises(ValueError):
        model.fit(data_path=path, skills="^Nothing")


def test_params_and_coef(ct):
    path, _ = ct
    model = Model(seed=42, num_fits=1)
    model.fit(data_path=path, forgets=True)
    params = model.params()
    assert set(params.index.get_level_values("param")) == {"prior", "learns", "guesses", "slips", "forgets"}
    coef = model.coef_
    assert set(coef["Box and Whisker"]) == {"prior", "learns", "guesses", "slips", "forgets"}
    assert isinstance(coef["Box and Whisker"]["learns"], np.ndarray)
    model.coef_ = {"Plot imperfect radical": {"prior": 1e-40}}
    assert model.coef_["Plot imperfect radical"]["prior"] == 1e-40
    fresh = Model()
    fresh.coef_ = {"s": {"prior": 0.3, "learns": np.array([0.1]), "guesses": np.array([0.2]),
                         "slips": np.array([0.1]), "forgets": np.array([0.0])}}
    out = fresh.predict(data=pd.DataFrame({"user_id": ["u"], "skill_name": ["s"], "correct": [1]}))
    assert math.isclose(out["correct_predictions"][0], 0.3 * 0.9 + 0.7 * 0.2)
    with pytest.raises(ValueError):
        Model().coef_ = {"s": {"prior": 0.5}}  # an unfitted skill needs every parameter


def test_save_load(ct, tmp_path):
    path, df = ct
    model = Model(seed=42, num_fits=1).fit(data_path=path, multilearn=True, forgets=True)
    model.save(str(tmp_path / "model.pkl"))
    loaded = Model()
    loaded.load(str(tmp_path / "model.pkl"))
    assert loaded.params().equals(model.params())


def test_unseen_skill_gets_best_effort_predictions(ct):
    _, df = ct
    model = Model(seed=42, num_fits=1).fit(data=df, skills=".*Plot.*")
    other = df.head(5).assign(skill_name="Unseen")
    both = pd.concat([df.head(5), other], ignore_index=True)
    out = model.predict(data=both)
    assert (out["correct_predictions"].tail(5) == 0.5).all() and (out["state_predictions"].tail(5) == 0.5).all()
    assert out["correct_predictions"].head(5).tolist() == model.predict(data=df.head(5))["correct_predictions"].tolist()
    assert model.evaluate(data=both) == model.evaluate(data=df.head(5))  # scored on fitted skills, as pyBKT


@pytest.mark.parametrize("value", [2, float("nan"), -1])
def test_bad_correct_names_the_row(value):
    df = pd.DataFrame({"user_id": ["a"] * 4, "skill_name": ["s"] * 4, "correct": [1, 0, value, 1]})
    with pytest.raises(ValueError, match="row 2"):
        Model(num_fits=1).fit(data=df)


def test_unsupported_options_are_refused(ct):
    _, df = ct
    with pytest.raises(ValueError, match="multipair"):
        Model(num_fits=1).fit(data=df, multipair=True)
    # verbose= is accepted: it reports restarts (a tqdm bar, or lines on stderr without tqdm).
    seen = []
    Model(num_fits=1, verbose=True).fit(data=df, progress=lambda *a: seen.append(a))
    assert seen and seen[-1][1] == seen[-1][2]


@pytest.mark.skipif(PyBKTModel is None, reason="pyBKT is not installed")
def test_same_calls_on_pybkt(ct):
    path, df = ct
    ours, theirs = Model(seed=42, num_fits=5), PyBKTModel(seed=42, num_fits=5)
    for m in (ours, theirs):
        m.fit(data_path=path)
    assert abs(ours.evaluate(data=df, metric="auc") - theirs.evaluate(data=df, metric="auc")) < 0.01
    assert list(ours.crossvalidate(data=df, folds=3).columns) == list(theirs.crossvalidate(data=df, folds=3).columns)

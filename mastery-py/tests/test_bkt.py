"""The pyBKT-compatible model: parity with pyBKT's reference outputs and the familiar API."""

import json
import pickle
from pathlib import Path

import pytest

import mastery
from mastery.pybkt import Model

pd = pytest.importorskip("pandas")
REF = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "bkt" / "pybkt_reference"


def model_file(prior, learn, guess, slip, forget):
    skill = {"params": {"prior": prior, "learns": [learn], "forgets": [forget], "guesses": [guess], "slips": [slip]},
             "learn_classes": {}, "gs_classes": {}, "log_likelihood": 0.0}
    return json.dumps({"format": "mastery.bkt", "version": 1, "model": {"options": {}, "skills": {"skill": skill}}})


@pytest.mark.parametrize("build", ["python", "compiled"])
@pytest.mark.parametrize("case", ["default", "forgets"])
def test_predictions_match_pybkt_to_1e_12(build, case):
    reference = json.loads((REF / "model_outputs_regenerated.json").read_text())[build][case]
    model = mastery.BKTModel.from_json(model_file(*reference["params"]))
    out = model.predict(data=pd.read_csv(REF / "inputs" / "model_outputs_attempts.csv"))
    assert max(abs(a - b) for a, b in zip(out["correct_predictions"], reference["correct_predictions"])) <= 1e-12
    assert max(abs(a - b) for a, b in zip(out["state_predictions"], reference["state_predictions"])) <= 1e-12


def test_pybkt_workflow():
    df = pd.read_csv(REF / "inputs" / "param_recovery_standard_seed3_attempts.csv")
    model = Model(seed=7, num_fits=2)
    model.fit(data=df)
    params = model.params()
    assert abs(params.loc[("skill", "learns", "default"), "value"] - 0.15) < 0.03
    rmse, auc = model.evaluate(data=df, metric=["rmse", "auc"])
    assert 0 < rmse < 0.5 and auc > 0.7
    predicted = model.predict(data=df.head(12))
    assert list(predicted.columns[-2:]) == ["correct_predictions", "state_predictions"]
    # Online updates replay the batch prediction exactly (the first 12 rows are one learner's).
    assert df.head(12)["user_id"].nunique() == 1
    state = None
    for correct, expected in zip(df.head(12)["correct"], predicted["state_predictions"]):
        if state is not None:
            assert state["p_known"] == expected
        state = model.update("skill", state, bool(correct))
    assert state["attempts"] == 12
    again = pickle.loads(pickle.dumps(model))
    assert again.predict(data=df.head(12))["correct_predictions"].tolist() == predicted["correct_predictions"].tolist()
    cv = model.crossvalidate(data=df.head(2400), folds=3, metric="auc")
    assert cv.loc["skill", "auc"] > 0.6  # pyBKT names the column after the metric


def test_multigs_and_save_load(tmp_path):
    df = pd.read_csv(REF / "inputs" / "param_recovery_multigs_seed4_attempts.csv")
    model = Model(num_fits=2, max_guess=0.5).fit(data=df, multigs=True)
    guesses = sorted(model.params().xs("guesses", level="param")["value"])
    assert abs(guesses[0] - 0.1) < 0.05 and abs(guesses[1] - 0.4) < 0.05
    path = tmp_path / "model.json"
    model.save(str(path))
    loaded = Model().load(str(path))
    assert json.loads(path.read_text())["version"] == 1
    assert loaded.params().equals(model.params())


def test_bad_input_is_a_mastery_error():
    df = pd.DataFrame({"user_id": ["a"], "skill_name": ["s"], "correct": [1]})
    with pytest.raises(mastery.MasteryError) as info:
        Model().from_json('{"format": "mastery.bkt", "version": 99, "model": {}}')
    assert info.value.code == "unsupported_version"
    # mastery.BKTModel refuses a skill it has not fitted (the pyBKT drop-in predicts 0.5, as pyBKT).
    model = mastery.BKTModel(num_fits=1).fit(data=df)
    with pytest.raises(mastery.MasteryError):
        model.predict(data=pd.DataFrame({"user_id": ["a"], "skill_name": ["unknown"], "correct": [1]}))


def test_calculation_methods_scales_gaps():
    evidence = [{"score": s, "assessed_at": f"2026-01-0{i + 1}T10:00:00Z"} for i, s in enumerate([1, 2, 3, 4])]
    assert mastery.calculate({"method": "weighted_average", "weight": 65}, evidence, 3) == 3.3
    assert mastery.calculate({"method": "n_mastery", "n": 3}, evidence, 3) is None
    scale = mastery.proficiency_scale("canvas")
    assert mastery.rating_for(scale, 3.48)["description"] == "Mastery"
    bad = {"ratings": [{"points": 1, "description": "x", "color": "#000000", "mastery": False}]}
    with pytest.raises(mastery.MasteryError):
        mastery.rating_for(bad, 1)


def test_multiprior_groups_learners_by_their_first_answer():
    df = pd.read_csv(REF / "inputs" / "param_recovery_standard_seed3_attempts.csv")
    model = Model(num_fits=2).fit(data=df, multiprior=True)
    priors = model.params().xs("prior", level="param")["value"]
    # Learners whose first answer was right start far more likely to know the skill.
    assert priors.loc[("skill", "1")] > priors.loc[("skill", "0")] + 0.3
    state = model.update("skill", None, True, prior_group="1")
    assert state["attempts"] == 1


def test_pandas_frames_fit_alike_through_arrow_and_factorize():
    df = pd.read_csv(REF / "inputs" / "param_recovery_standard_seed3_attempts.csv")
    through_arrow = Model(seed=7, num_fits=1).fit(data=df)
    # A float `correct` column is not read through Arrow: pandas.factorize codes instead.
    floats = df.assign(correct=df["correct"].astype(float))
    assert Model()._pandas_arrow(floats) is None and Model()._pandas_arrow(df) is not None
    factorized = Model(seed=7, num_fits=1).fit(data=floats)
    assert factorized.params().equals(through_arrow.params())
    assert factorized.predict(data=floats)["correct_predictions"].tolist() == \
        through_arrow.predict(data=df)["correct_predictions"].tolist()


def test_crossvalidate_on_a_tiny_log():
    # Three learners, two answers each: once failed with "learner codes must be below the number of rows".
    df = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
                       "correct": [0, 1, 0, 1, 1, 1]})
    cv = Model(num_fits=1).crossvalidate(data=df, folds=3, metric="rmse")
    assert list(cv.index) == ["s"] and 0 <= cv.loc["s", "rmse"] <= 1

"""Arrow in and out: BKT and RiskClassifier on pyarrow, Polars and Arrow-backed pandas tables give
the same models and scores as on pandas/numpy; results come back as Arrow without a copy."""

import json
from pathlib import Path

import numpy as np
import pytest

import mastery
from mastery import _mastery

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

REF = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "bkt" / "pybkt_reference"


@pytest.fixture(scope="module")
def log():
    df = pd.read_csv(REF / "inputs" / "param_recovery_standard_seed3_attempts.csv")
    rng = np.random.default_rng(5)
    df = df.assign(skill_name=rng.choice(["add", "sub", "mul"], len(df)), template_id=rng.choice(["t1", "t2"], len(df)))
    return df


def frames(df):
    return {
        "pyarrow": pa.Table.from_pandas(df, preserve_index=False),
        "polars": pl.from_pandas(df),
        "pandas-arrow": df.convert_dtypes(dtype_backend="pyarrow"),
        "record-batch": pa.RecordBatch.from_pandas(df, preserve_index=False),
        "dictionary": pa.Table.from_pandas(df, preserve_index=False).set_column(
            1, "skill_name", pa.Table.from_pandas(df, preserve_index=False)["skill_name"].dictionary_encode()),
    }


@pytest.mark.parametrize("kind", ["pyarrow", "polars", "pandas-arrow", "record-batch", "dictionary"])
def test_bkt_fit_on_arrow_equals_the_pandas_fit(log, kind):
    data = frames(log)[kind]
    assert mastery.tables.is_arrow_table(data)
    reference = mastery.BKTModel(seed=3, num_fits=2).fit(data=log, forgets=True)
    model = mastery.BKTModel(seed=3, num_fits=2).fit(data=data, forgets=True)
    assert json.loads(model.to_json()) == json.loads(reference.to_json())
    ours = model.predict_table(data).to_pandas()
    theirs = reference.predict(data=log)
    assert np.array_equal(ours["correct_predictions"].to_numpy(), theirs["correct_predictions"].to_numpy())
    assert np.array_equal(ours["state_predictions"].to_numpy(), theirs["state_predictions"].to_numpy())


def test_bkt_order_column_sorted_or_not_in_one_or_more_batches(log):
    """An order column that never decreases is left out natively (no copy): the same model and
    predictions as without it. Out of order, or decreasing across record batches, it is used."""
    model = mastery.BKTModel(seed=3, num_fits=1).fit(data=log)
    table = pa.Table.from_pandas(log, preserve_index=False)
    plain = model.predict_table(table.drop_columns(["order_id"])).to_pandas()
    global_order = table.set_column(2, "order_id", pa.array(np.arange(len(log), dtype=np.int64)))
    assert model.predict_table(global_order).to_pandas().equals(plain)
    assert json.loads(mastery.BKTModel(seed=3, num_fits=1).fit(data=global_order).to_json()) == json.loads(
        mastery.BKTModel(seed=3, num_fits=1).fit(data=table.drop_columns(["order_id"])).to_json())
    # Each learner's rows reversed in place; their order column puts them back.
    reversed_rows = log.iloc[::-1].reset_index(drop=True)
    back = model.predict_table(pa.Table.from_pandas(reversed_rows, preserve_index=False)).to_pandas()
    assert np.array_equal(back["state_predictions"].to_numpy()[::-1], plain["state_predictions"].to_numpy())
    # Two batches, each in order, the second starting below the first's end (a learner's
    # history split between them): not in order overall, so the column is used.
    cut = len(log) // 2 + 7
    swapped = pa.Table.from_batches(global_order.slice(cut).to_batches() + global_order.slice(0, cut).to_batches())
    assert swapped.num_rows == len(log) and len(swapped.to_batches()) >= 2
    got = model.predict_table(swapped).to_pandas()["state_predictions"].to_numpy()
    want = plain["state_predictions"].to_numpy()
    assert np.array_equal(got, np.concatenate([want[cut:], want[:cut]]))


def test_ids_of_every_length_and_string_type_are_interned_alike(monkeypatch):
    """Ids of 1 to 20 bytes (inline Arrow views up to 12, with NUL and multi-byte characters,
    and names that differ only in their last byte or a trailing NUL) as string, large_string,
    string_view and dictionary columns: the same skills and the same predictions as pandas."""
    stems = ["a", "ab", "ab\x00", "abc", "abcd", "abcde", "été", "abcdefg", "abcdefgh", "abcdefgi",
             "abcdefghijk", "abcdefghijkl", "abcdefghijkm", "abcdefghijklm", "abcdefghijklmnopqrst", "ab\x00cd"]
    rng = np.random.default_rng(11)
    n = 6000
    learners = [s + "u" * (i % 3) for i, s in enumerate(stems)]
    # Drawn by index: numpy's own strings would drop the trailing NUL of "ab\x00".
    df = pd.DataFrame({"user_id": [learners[i] for i in rng.integers(0, len(stems), n)],
                       "skill_name": [stems[i] for i in rng.integers(0, len(stems), n)],
                       "correct": rng.integers(0, 2, n)})
    df = df.sort_values("user_id", kind="stable").reset_index(drop=True)
    with monkeypatch.context() as patch:  # the reference interns with pandas.factorize, not Arrow
        patch.setattr(mastery.BKTModel, "_pandas_arrow", lambda *args: None)
        reference = mastery.BKTModel(seed=2, num_fits=1).fit(data=df)
        expected = reference.predict(data=df)["state_predictions"].to_numpy()
    assert sorted(json.loads(reference.to_json())["model"]["skills"]) == sorted(stems)
    table = pa.Table.from_pandas(df, preserve_index=False)
    for kind in [pa.string(), pa.large_string(), pa.string_view(), "dictionary"]:
        cast = table.set_column(0, "user_id", table["user_id"].dictionary_encode() if kind == "dictionary"
                                else table["user_id"].cast(kind))
        cast = cast.set_column(1, "skill_name", cast["skill_name"].dictionary_encode() if kind == "dictionary"
                               else cast["skill_name"].cast(kind))
        model = mastery.BKTModel(seed=2, num_fits=1).fit(data=cast)
        assert json.loads(model.to_json()) == json.loads(reference.to_json()), kind
        got = model.predict_table(cast).to_pandas()["state_predictions"].to_numpy()
        assert np.array_equal(got, expected), kind
    # 3,000 distinct short learner ids in random row order: more ids than the interner's cache has
    # slots, so ids evict each other from it; codes must still be those of pandas.factorize.
    many = pd.DataFrame({"user_id": [f"u{i}" for i in rng.integers(0, 3000, n)],
                         "skill_name": df["skill_name"], "correct": df["correct"]})
    with monkeypatch.context() as patch:
        patch.setattr(mastery.BKTModel, "_pandas_arrow", lambda *args: None)
        reference = mastery.BKTModel(seed=2, num_fits=1).fit(data=many)
        expected = reference.predict(data=many)["state_predictions"].to_numpy()
    table = pa.Table.from_pandas(many, preserve_index=False)
    for kind in [pa.string(), pa.string_view()]:
        cast = table.set_column(0, "user_id", table["user_id"].cast(kind))
        model = mastery.BKTModel(seed=2, num_fits=1).fit(data=cast)
        assert json.loads(model.to_json()) == json.loads(reference.to_json()), kind
        got = model.predict_table(cast).to_pandas()["state_predictions"].to_numpy()
        assert np.array_equal(got, expected), kind


def test_polars_frames_of_misaligned_chunks_are_read_column_by_column(log):
    """A Polars frame is read per Series: columns cut into chunks at different rows give the
    same model and predictions as one chunk, and the frame is left as it was (exporting the
    whole frame would have copied every column into one chunk, in place)."""
    whole = pl.from_pandas(log)
    n = len(log)
    left = pl.concat([whole[: n // 3], whole[n // 3:]], rechunk=False)
    right = pl.concat([whole[: n // 2 + 5], whole[n // 2 + 5: n - 9], whole[n - 9:]], rechunk=False)
    mixed = left.select("user_id", "order_id").hstack(right.select("skill_name", "correct", "template_id"))
    assert mixed["user_id"].n_chunks() == 2 and mixed["skill_name"].n_chunks() == 3
    reference = mastery.BKTModel(seed=3, num_fits=1).fit(data=whole, forgets=True)
    model = mastery.BKTModel(seed=3, num_fits=1).fit(data=mixed, forgets=True)
    assert json.loads(model.to_json()) == json.loads(reference.to_json())
    assert model.predict_table(mixed).to_pandas().equals(reference.predict_table(whole).to_pandas())
    assert mixed.n_chunks("all") == [2, 2, 3, 3, 3]


def test_bkt_multilearn_skills_filter_crossvalidate_and_evaluate_on_polars(log):
    data = pl.from_pandas(log)
    ref = mastery.BKTModel(seed=1, num_fits=1).fit(data=log, multilearn=True, skills=["add", "mul"])
    got = mastery.BKTModel(seed=1, num_fits=1).fit(data=data, multilearn=True, skills=["add", "mul"])
    assert json.loads(got.to_json()) == json.loads(ref.to_json())
    assert sorted(json.loads(got.to_json())["model"]["skills"]) == ["add", "mul"]
    cv_ref = mastery.BKTModel(seed=1, num_fits=1).crossvalidate(data=log, folds=3, metric="rmse")
    cv_got = mastery.BKTModel(seed=1, num_fits=1).crossvalidate(data=data, folds=3, metric="rmse")
    assert cv_ref.equals(cv_got)
    predicted = got.predict(data=data.filter(pl.col("skill_name") != "sub"))
    assert isinstance(predicted, pl.DataFrame) and "correct_predictions" in predicted.columns
    assert got.evaluate(data=data.filter(pl.col("skill_name") != "sub"), metric="auc") == pytest.approx(
        ref.evaluate(data=log[log.skill_name != "sub"], metric="auc"), abs=1e-12)


def test_bkt_arrow_input_errors_are_mastery_errors(log):
    model = mastery.BKTModel(num_fits=1)
    with pytest.raises(mastery.MasteryError) as e:
        model.fit(data=pa.table({"user_id": ["a"], "correct": [1]}))
    assert e.value.code == "invalid_input" and e.value.field == "skill_name"
    with pytest.raises(mastery.MasteryError) as e:
        model.fit(data=pa.table({"user_id": ["a", None], "skill_name": ["s", "s"], "correct": [1, 0]}))
    assert e.value.code == "invalid_input" and e.value.field == "user_id"
    with pytest.raises(mastery.MasteryError) as e:
        model.fit(data=pa.table({"user_id": ["a"], "skill_name": ["s"], "correct": ["yes"]}))
    assert e.value.code == "invalid_input" and e.value.field == "correct"
    with pytest.raises(mastery.MasteryError) as e:
        _mastery.bkt_fit_arrow(object(), {"user_id": "u", "skill_name": "s", "correct": "c"})
    assert e.value.code == "invalid_input" and e.value.field == "data"


@pytest.fixture(scope="module")
def risk():
    x, y, names = mastery.synthetic_risk_data(4000, 11)
    return x, y, names


def test_risk_classifier_on_polars_pyarrow_and_pandas_gives_the_numpy_model(risk):
    x, y, names = risk
    reference = mastery.RiskClassifier(n_estimators=30, random_state=2, n_jobs=1).fit(x, y)
    p = reference.predict_proba(x)
    for data in [pl.DataFrame(dict(zip(names, x.T))), pa.table(dict(zip(names, x.T))),
                 pd.DataFrame(x, columns=names).convert_dtypes(dtype_backend="pyarrow")]:
        clf = mastery.RiskClassifier(n_estimators=30, random_state=2, n_jobs=1).fit(data, pl.Series(y) if isinstance(data, pl.DataFrame) else y)
        assert list(clf.feature_names_in_) == names
        assert np.array_equal(clf.predict_proba(data), p)
        assert np.array_equal(clf.predict(data), reference.predict(x))
        scores = clf.predict_table(data)
        assert scores.column_names == ["score"] and np.array_equal(scores.column("score"), p[:, 1])
    # Columns in another order are read by name; a missing one is refused by name.
    table = pa.table(dict(zip(names, x.T)))
    assert np.array_equal(clf.predict_proba(table.select(names[::-1])), p)
    with pytest.raises(mastery.risk.FeatureMismatchError, match="missing the columns"):
        clf.predict_proba(table.drop_columns([names[3]]))


def test_nulls_are_missing_values_and_strings_are_refused(risk):
    x, y, names = risk
    clf = mastery.RiskClassifier(n_estimators=10, n_jobs=1).fit(x, y, feature_names=names)
    with_null = pa.table({n: pa.array(x[:5, i], from_pandas=True) for i, n in enumerate(names)})
    masked = x[:5].copy()
    masked[0, 0] = np.nan
    nulls = with_null.set_column(0, names[0], pa.array([None, *x[1:5, 0]], pa.float64()))
    assert np.array_equal(clf.predict_proba(nulls), clf.predict_proba(masked))
    bad = nulls.set_column(1, names[1], pa.array(["a"] * 5))
    with pytest.raises(mastery.MasteryError) as e:
        clf.predict_proba(bad)
    assert e.value.code == "invalid_input" and e.value.field == names[1]
    inf = nulls.set_column(2, names[2], pa.array([np.inf] * 5))
    with pytest.raises(mastery.MasteryError) as e:
        clf.predict_table(inf)
    assert e.value.code == "invalid_input"


def test_explain_table_matches_explain(risk):
    x, y, names = risk
    clf = mastery.RiskClassifier(n_estimators=20, n_jobs=1).fit(pl.DataFrame(dict(zip(names, x.T))), y)
    rows = pl.DataFrame(dict(zip(names, x[:20].T)))
    table = clf.explain_table(rows, top=2).to_pandas()
    listed = clf.explain(rows, top=2)
    assert list(table.columns) == ["score", "margin", "base", "reason_1", "feature_1", "contribution_1",
                                   "reason_2", "feature_2", "contribution_2"]
    for i, e in enumerate(listed):
        assert table["score"][i] == e["score"]
        for k in range(2):
            r = e["reasons"][k] if k < len(e["reasons"]) else None
            assert (table[f"reason_{k + 1}"][i] if r else None) == (r["text"] if r else None)
    # numpy input gives the same table
    assert clf.explain_table(x[:20], top=2).to_pandas().equals(table)


def test_outputs_are_arrow_without_a_copy(risk):
    x, y, names = risk
    clf = mastery.RiskClassifier(n_estimators=5, n_jobs=1).fit(x, y)
    out = clf.predict_table(pa.table(dict(zip([f"x{i}" for i in range(x.shape[1])], x.T))))
    first = pa.table(out)["score"].chunk(0)
    second = pa.table(out)["score"].chunk(0)
    # Two imports of the same native table see the same buffer: nothing is copied on export.
    assert first.buffers()[1].address == second.buffers()[1].address
    assert pl.DataFrame(out)["score"].to_numpy().tolist() == first.to_pylist()
    assert "<table>" in out._repr_html_() and "score" in repr(out)


def test_pandas_numpy_frames_are_read_in_place(risk):
    x, y, names = risk
    df = pd.DataFrame(x, columns=names)
    clf = mastery.RiskClassifier(n_estimators=5, n_jobs=1).fit(df, y)
    # A float64 frame's values are one Fortran-ordered block: validated without a C-order copy.
    checked = clf._validate(df, reset=False)
    assert np.shares_memory(np.asarray(checked), df.to_numpy())
    assert np.array_equal(clf.predict_proba(df), clf.predict_proba(np.ascontiguousarray(x)))


def test_an_arrow_backed_pandas_frame_with_an_index_is_read_by_column_name(risk):
    x, y, names = risk
    frame = pd.DataFrame(x, columns=names).convert_dtypes(dtype_backend="pyarrow").iloc[100:]  # index 100..
    clf = mastery.RiskClassifier(n_estimators=5, n_jobs=1).fit(frame, y[100:])
    assert clf.n_features_in_ == len(names)
    assert np.array_equal(clf.predict_proba(frame), clf.predict_proba(x[100:]))

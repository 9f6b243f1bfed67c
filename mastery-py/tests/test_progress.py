"""Progress callbacks, verbose=, and Ctrl-C (KeyboardInterrupt) during BKT EM, booster rounds and
cross-validation."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mastery

pd = pytest.importorskip("pandas")


def bkt_log(learners=200, skills=4, attempts=10, seed=0):
    rng = np.random.default_rng(seed)
    n = learners * skills * attempts
    return pd.DataFrame({
        "user_id": np.repeat(np.arange(learners), skills * attempts).astype(str),
        "skill_name": np.tile(np.repeat([f"s{i}" for i in range(skills)], attempts), learners),
        "correct": rng.integers(0, 2, n),
    })


def test_bkt_fit_reports_every_restart_and_gives_the_same_model():
    df = bkt_log()
    calls = []
    model = mastery.BKTModel(num_fits=3, seed=2).fit(data=df, progress=lambda *a: calls.append(a))
    assert calls[0] == ("bkt_fit", 0, 12) and calls[-1] == ("bkt_fit", 12, 12)
    assert [c[1] for c in calls] == list(range(13))
    assert model.to_json() == mastery.BKTModel(num_fits=3, seed=2).fit(data=df).to_json()


def test_crossvalidation_and_booster_report_progress():
    calls = []
    mastery.BKTModel(num_fits=1).crossvalidate(data=bkt_log(), folds=4, progress=lambda *a: calls.append(a))
    assert [c for c in calls if c[0] == "crossvalidation"] == [("crossvalidation", k, 4) for k in range(5)]
    x, y, _ = mastery.synthetic_risk_data(1000, 1)
    rounds = []
    mastery.RiskClassifier(n_estimators=15, n_jobs=1).fit(x, y, progress=lambda *a: rounds.append(a))
    assert rounds == [("booster_rounds", k, 15) for k in range(16)]


def test_verbose_prints_progress(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # no tqdm: printed lines
    x, y, _ = mastery.synthetic_risk_data(500, 1)
    mastery.RiskClassifier(n_estimators=10, n_jobs=1, verbose=1).fit(x, y)
    err = capsys.readouterr().err
    assert "booster_rounds: 10/10" in err and "booster_rounds: 0/10" in err


def test_tqdm_drives_a_bar():
    tqdm = pytest.importorskip("tqdm")
    import io

    out = io.StringIO()
    bar = mastery.TqdmProgress(file=out, mininterval=0)
    mastery.BKTModel(num_fits=2).fit(data=bkt_log(), progress=bar)
    assert "bkt_fit" in out.getvalue() and "8/8" in out.getvalue()
    assert tqdm is not None


def test_an_exception_in_the_callback_stops_the_fit():
    seen = []

    def stop(stage, done, total):
        seen.append(done)
        if done == 3:
            raise RuntimeError("enough")

    x, y, _ = mastery.synthetic_risk_data(1000, 1)
    with pytest.raises(RuntimeError, match="enough"):
        mastery.RiskClassifier(n_estimators=500, n_jobs=1).fit(x, y, progress=stop)
    assert seen[-1] == 3
    with pytest.raises(mastery.MasteryError) as e:
        mastery.RiskClassifier(n_estimators=5).fit(x, y, progress="not callable")
    assert e.value.code == "invalid_input" and e.value.field == "progress"


CHILD = textwrap.dedent("""
    import sys, numpy as np, pandas as pd, mastery
    kind = sys.argv[1]
    state = {"done": 0, "total": 0}
    def progress(stage, done, total):
        state.update(done=done, total=total)
        if done == 0:
            print("started", flush=True)
    try:
        if kind == "booster":
            x, y, _ = mastery.synthetic_risk_data(20000, 1)
            # 20,000 rounds: minutes of work.
            mastery.RiskClassifier(n_estimators=20000, n_jobs=1, early_stopping=False).fit(x, y, progress=progress)
        else:
            rng = np.random.default_rng(0)
            n = 400_000
            df = pd.DataFrame({"user_id": rng.integers(0, 4000, n), "skill_name": rng.integers(0, 50, n),
                               "correct": rng.integers(0, 2, n)})
            # 50 skills x 20 restarts of up to 2,000 EM iterations each (no early stop): minutes.
            model = mastery.BKTModel(num_fits=20, max_iter=2000, tol=-1.0)
            if kind == "bkt":
                model.fit(data=df, progress=progress)
            else:
                model.crossvalidate(data=df, folds=5, progress=progress)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted {state['done']}/{state['total']}", flush=True)
""")


@pytest.mark.parametrize("kind", ["booster", "bkt", "crossvalidation"])
def test_ctrl_c_interrupts_a_long_fit(kind, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(script), kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(0.5)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert out.startswith("interrupted "), (out, err)
    done, total = map(int, out.split()[1].split("/"))
    # Stopped early: far from the end of the fit.
    assert done < total // 2, out
    print(f"{kind}: interrupted at {done}/{total}, {elapsed:.2f} s after SIGINT")

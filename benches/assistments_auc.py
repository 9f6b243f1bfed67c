"""Standard BKT (and BKT with forgetting) on the ASSISTments 2009 skill-builder DKT split:
one model per skill fitted on train, AUC on the test rows of fitted skills, for mastery's
pyBKT drop-in and, when it is installed, pyBKT itself, with the same defaults (seed 42, 5 fits).

    python benches/assistments_auc.py [mastery|pybkt|both]
"""

import sys
import time
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "bkt" / "assistments2009_dkt"


def dkt(name):
    """DKT's format: per student a count line, a line of skill ids and a line of 0/1."""
    lines = (DATA / name).read_text().splitlines()
    rows = []
    for student, i in enumerate(range(0, len(lines) - 2, 3)):
        skills = [x.strip() for x in lines[i + 1].split(",") if x.strip()]
        correct = [x.strip() for x in lines[i + 2].split(",") if x.strip()]
        for order, (s, c) in enumerate(zip(skills, correct)):
            rows.append((f"{name}:{student}", s, order, int(c == "1")))
    return pd.DataFrame(rows, columns=["user_id", "skill_name", "order_id", "correct"])


def auc(y, p):
    from mastery import _mastery  # same AUC code for both libraries

    return _mastery.evaluate([float(x) for x in p], [int(v) for v in y])["auc"]


def run(library, train, test, forgets):
    if library == "pybkt":
        from pyBKT.models import Model
    else:
        from mastery.pybkt import Model
    start = time.perf_counter()
    model = Model(seed=42, num_fits=5, parallel=False)
    model.fit(data=train, forgets=forgets)
    seconds = time.perf_counter() - start
    fitted = set(model.params().index.get_level_values(0).astype(str))
    known = test[test["skill_name"].astype(str).isin(fitted)]
    predicted = model.predict(data=known)
    return predicted["correct"].tolist(), predicted["correct_predictions"].tolist(), seconds


def main(which):
    train, test = dkt("builder_train.csv"), dkt("builder_test.csv")
    libraries = ["mastery", "pybkt"] if which == "both" else [which]
    for library in libraries:
        for forgets in (False, True):
            y, p, seconds = run(library, train, test, forgets)
            try:
                score = auc(y, p)
            except ImportError:
                from sklearn.metrics import roc_auc_score

                score = roc_auc_score(y, p)
            print(f"{library:8} forgets={forgets!s:5} test AUC {score:.4f} on {len(y)} rows, fit {seconds:.1f} s",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "both")

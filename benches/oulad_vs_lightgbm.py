"""OULAD at day 60: mastery's RiskClassifier with its defaults (early stopping on a held-out 10%)
against LightGBM 4 at 50, 100, ..., 300 rounds, one thread each.

python benches/oulad_vs_lightgbm.py [OULAD_DIR]   (default fixtures/data/oulad; run by
benches/risk_vs_lightgbm.sh, or alone with OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1)

Trains on the 2013 presentations (11,373 learners) and tests on 2014 (15,030), without click
data and without the protected attributes, as the core's `oulad_day_60_auc` test does. The
"best" LightGBM figure picks its round count on the test set, so it is an upper bound no model
that chooses by itself can be sure to reach; mastery's default chooses on its held-out share of
the training rows only.
"""

import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import lightgbm  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import mastery  # noqa: E402

ROUNDS = [50, 100, 150, 200, 250, 300]


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "data", "oulad")
    ds = mastery.load_oulad(data, cutoff=60)
    df = ds.table.to_pandas()
    year = df["presentation"].str.split("/").str[1].str[:4]
    train, test = df[year == "2013"], df[year == "2014"]
    xtr, ytr = train[ds.features].to_numpy(np.float64), train["at_risk"].to_numpy(np.float64)
    xte, yte = test[ds.features].to_numpy(np.float64), test["at_risk"].to_numpy(np.float64)
    print(f"OULAD day 60: {len(ytr):,} training rows (2013), {len(yte):,} test rows (2014), "
          f"{len(ds.features)} features; one thread each")

    def ours(**params):
        clf = mastery.RiskClassifier(random_state=0, n_jobs=1, **params)
        t = time.perf_counter()
        clf.fit(xtr, ytr)
        seconds = time.perf_counter() - t
        return roc_auc_score(yte, clf.predict_proba(xte)[:, 1]), clf, seconds

    auc, clf, seconds = ours()
    print(f"mastery RiskClassifier() defaults (early stopping): test AUC {auc:.4f} "
          f"(n_iter_ {clf.n_iter_}, best_iteration_ {clf.best_iteration_}, {seconds:.2f} s)")
    auc200, _, seconds = ours(n_estimators=200, early_stopping=False)
    print(f"mastery RiskClassifier(n_estimators=200, early_stopping=False): test AUC {auc200:.4f} ({seconds:.2f} s)")

    lgb = lightgbm.LGBMClassifier(objective="binary", n_estimators=max(ROUNDS), n_jobs=1, random_state=0, verbose=-1)
    t = time.perf_counter()
    lgb.fit(xtr, ytr)
    seconds = time.perf_counter() - t
    # The first k trees of a 300-round model are the k-round model (LightGBM is deterministic).
    lgb_auc = {k: roc_auc_score(yte, lgb.predict_proba(xte, num_iteration=k)[:, 1]) for k in ROUNDS}
    print(f"LightGBM {lightgbm.__version__} defaults ({seconds:.2f} s for 300 rounds), test AUC by rounds: "
          + ", ".join(f"{k}: {a:.4f}" for k, a in lgb_auc.items()))
    best_k = max(lgb_auc, key=lambda k: lgb_auc[k])
    print(f"LightGBM best over 50-300 rounds (chosen on the test set): {lgb_auc[best_k]:.4f} at {best_k} rounds")
    print(f"mastery default - LightGBM best: {auc - lgb_auc[best_k]:+.4f}")

    # LightGBM with early stopping as mastery's default does it: patience 10 on the log loss of
    # a stratified 10% of the training rows, up to 1,000 rounds.
    fit_x, val_x, fit_y, val_y = train_test_split(xtr, ytr, test_size=0.1, stratify=ytr, random_state=0)
    stopped = lightgbm.LGBMClassifier(objective="binary", n_estimators=1000, n_jobs=1, random_state=0, verbose=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LightGBM 4.7 renames eval_set; older 4.x know only it
        stopped.fit(fit_x, fit_y, eval_set=[(val_x, val_y)], callbacks=[lightgbm.early_stopping(10, verbose=False)])
    print(f"LightGBM with early stopping on a stratified 10% (patience 10): test AUC "
          f"{roc_auc_score(yte, stopped.predict_proba(xte)[:, 1]):.4f} at {stopped.best_iteration_} rounds")


if __name__ == "__main__":
    main()

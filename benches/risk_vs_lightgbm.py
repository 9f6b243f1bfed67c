"""LightGBM and mastery on the same data, each step in a fresh process; prints a table of ratios.

python benches/risk_vs_lightgbm.py DATA_DIR RUST_JSON   (run by benches/risk_vs_lightgbm.sh)
DATA_DIR holds x.f64 / y.f64 written by `risk-bench --write` (1,000,000 rows x 30 features,
row-major little-endian float64; the first 800,000 rows train, the rest are held out).
"""

import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
peer, threads, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Import first, so module memory is not counted as training memory.
if peer == "lightgbm":
    import lightgbm
else:
    import mastery
from sklearn.metrics import roc_auc_score
x = np.fromfile(os.path.join(data, "x.f64"), dtype="<f8").reshape(-1, 30)
y = np.fromfile(os.path.join(data, "y.f64"), dtype="<f8")
base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
xtr, ytr, xte, yte = x[:800_000], y[:800_000], x[800_000:], y[800_000:]
# reg_lambda=0 for both: LightGBM's default, not RiskClassifier's (30), so both fit the same model.
params = dict(n_estimators=200, num_leaves=31, learning_rate=0.1, max_bin=255, reg_lambda=0.0, n_jobs=threads)
if peer == "lightgbm":
    model = lightgbm.LGBMClassifier(objective="binary", verbose=-1, **params)
else:
    model = mastery.RiskClassifier(early_stopping=False, **params)  # 200 rounds, as LightGBM
t = time.perf_counter(); model.fit(xtr, ytr); train_s = time.perf_counter() - t
train_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
auc = roc_auc_score(yte, model.predict_proba(xte)[:, 1])
t = time.perf_counter(); model.predict_proba(x); predict_s = time.perf_counter() - t
row = x[123:124]
t = time.perf_counter()
for _ in range(2000):
    model.predict_proba(row)
one_row_us = (time.perf_counter() - t) / 2000 * 1e6
print(json.dumps(dict(train_s=train_s, auc=auc, predict_1m_s=predict_s, one_row_us=one_row_us,
                      train_above_data_mb=train_mb - base_mb)))
"""


def run(peer, threads, data):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", CHILD, peer, str(threads), data], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_of(runs):
    """The best of fresh-process runs, metric by metric (this machine's timings swing)."""
    return {k: (max if k == "auc" else min)(r[k] for r in runs) for k in runs[0]}


def alternating(threads, data, repeat):
    """`repeat` runs of each peer, taking turns, so both see the same load on a shared machine."""
    runs = {"lightgbm": [], "mastery": []}
    for _ in range(repeat):
        for peer in runs:
            runs[peer].append(run(peer, threads, data))
    for peer, rs in runs.items():
        print(f"{threads} thread(s) {peer} train_s per run: " + ", ".join(f"{r['train_s']:.2f}" for r in rs))
    return best_of(runs["lightgbm"]), best_of(runs["mastery"])


def main():
    data, rust_json = sys.argv[1], sys.argv[2]
    repeat = int(os.environ.get("REPEAT", "1"))
    threads_list = [int(t) for t in os.environ.get("THREADS", "1,2").split(",")]
    with open(rust_json) as f:
        core = json.load(f)
    for threads in threads_list:
        lgb, ours = alternating(threads, data, repeat)
        print(f"\n{threads} thread(s), best of {repeat}: LightGBM vs mastery (Python RiskClassifier), 800,000 training rows x 30 features")
        print(f"{'':28} {'LightGBM':>10} {'mastery':>10} {'LightGBM/mastery':>17}")
        for key, label in [("train_s", "train (s)"), ("predict_1m_s", "predict 1M rows (s)"),
                           ("one_row_us", "predict one row (us)"), ("train_above_data_mb", "train memory above data (MB)")]:
            print(f"{label:28} {lgb[key]:10.2f} {ours[key]:10.2f} {lgb[key] / max(ours[key], 1e-9):16.2f}x")
        print(f"{'held-out AUC':28} {lgb['auc']:10.4f} {ours['auc']:10.4f} {ours['auc'] - lgb['auc']:+17.4f}")
    print(f"\nRust core alone, one thread: train {core['train_s']:.2f} s, AUC {core['held_out_auc']:.4f}, "
          f"predict 1M {core['predict_1m_s']:.2f} s, one row {core['one_row_us']:.2f} us, "
          f"TreeSHAP {core['shap_rows_per_s']:.0f} rows/s, peak {core['train_peak_mb']:.0f} MB "
          f"({core['train_peak_mb'] - core['data_peak_mb']:.0f} MB above the data)")


if __name__ == "__main__":
    main()

"""Times compiled pyBKT and mastery on the same log, each step in a fresh process (so peak
memory is per step), one thread each, and prints the ratios. Run through bkt_vs_pybkt.sh."""

import json
import os
import resource
import subprocess
import sys
import time

STEPS = ["fit1", "fit5", "predict"]


def worker(library, step, path):
    import pandas as pd

    df = pd.read_csv(path)
    if library == "pybkt":
        import pyBKT.fit.E_step  # noqa: F401  (fails if the compiled build is missing)
        from pyBKT.models import Model
    else:
        from mastery.pybkt import Model
    options = {} if library == "pybkt" else {"max_guess": None, "max_slip": None}  # pyBKT has no caps
    start = time.perf_counter()
    model = Model(seed=42, num_fits=5 if step == "fit5" else 1, parallel=False, **options)
    model.fit(data=df)
    fitted = time.perf_counter()
    if step == "predict":
        model.predict(data=df)
    end = time.perf_counter()
    params = model.params().loc["skill0"]["value"].tolist()
    seconds = end - fitted if step == "predict" else fitted - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "skill0": params}))


def main(path, rust_json):
    # REPEAT=n: n rounds, pyBKT and mastery alternating within each step; the table shows the
    # best time of each (least disturbed by other load) and the per-round ratios.
    repeat = int(os.environ.get("REPEAT", "1"))
    results = {}
    for _ in range(repeat):
        for step in STEPS:
            for library in ["pybkt", "mastery"]:
                out = subprocess.run([sys.executable, __file__, "--worker", library, step, path],
                                     check=True, capture_output=True, text=True).stdout
                results.setdefault((library, step), []).append(json.loads(out.strip().splitlines()[-1]))
    rust = json.load(open(rust_json))
    print(f"BKT, {rust['rows']:,} rows (50 skills x 2,000 learners x 20 attempts), one thread each, "
          f"best of {repeat}")
    print(f"{'step':10} {'pyBKT s':>9} {'mastery s':>10} {'ratio':>7} {'pyBKT MB':>9} {'mastery MB':>11}"
          f"  per-round ratios")
    for step in STEPS:
        runs = list(zip(results[("pybkt", step)], results[("mastery", step)]))
        p = min(results[("pybkt", step)], key=lambda r: r["seconds"])
        m = min(results[("mastery", step)], key=lambda r: r["seconds"])
        rounds = " ".join(f"{a['seconds'] / b['seconds']:.1f}x" for a, b in runs)
        print(f"{step:10} {p['seconds']:9.3f} {m['seconds']:10.3f} {p['seconds'] / m['seconds']:6.1f}x"
              f" {p['peak_mb']:9.0f} {m['peak_mb']:11.0f}  {rounds}")
    results = {key: min(runs, key=lambda r: r["seconds"]) for key, runs in results.items()}
    print("skill0 params pyBKT   :", [round(x, 4) for x in results[("pybkt", "fit1")]["skill0"]])
    print("skill0 params mastery :", [round(x, 4) for x in results[("mastery", "fit1")]["skill0"]])
    print(f"Rust core alone: fit(1) {rust['fit_1_s']:.3f} s ({rust['fit_1_on_columns_s']:.3f} s on columns), "
          f"fit(5) {rust['fit_5_s']:.3f} s, predict {rust['predict_s']:.3f} s "
          f"({rust['predict_on_columns_s']:.3f} s on columns), "
          f"{rust['online_updates_per_s'] / 1e6:.0f} M online updates/s, {rust['state_bytes']} bytes per state")


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
    else:
        main(sys.argv[1], sys.argv[2])

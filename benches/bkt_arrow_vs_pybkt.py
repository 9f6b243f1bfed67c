"""BKT on 2,000,000 responses: compiled pyBKT from pandas against mastery from a Polars and a
pyarrow table (and from pandas through the pyBKT drop-in), one thread each, each step in a fresh
process (peak memory per step), alternating in rounds. Prints a table; figures go to the README.

Usage (from the repository root, with target/bench-venv from benches/bkt_vs_pybkt.sh):
    RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 target/bench-venv/bin/python benches/bkt_arrow_vs_pybkt.py
"""

import json
import os
import resource
import subprocess
import sys
import time

PATH = "target/bench/bkt_2m.parquet"
RUNS = [("pybkt", "pandas"), ("mastery", "polars"), ("mastery", "pyarrow"), ("mastery", "pandas")]


def simulate(path):
    """50 skills x 2,000 learners x 20 attempts from a BKT process (seeded)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    skills, learners, attempts = 50, 2000, 20
    prior, learn = rng.uniform(0.1, 0.5, skills), rng.uniform(0.05, 0.3, skills)
    guess, slip = rng.uniform(0.1, 0.3, skills), rng.uniform(0.05, 0.2, skills)
    known = rng.random((skills, learners)) < prior[:, None]
    correct = np.empty((skills, learners, attempts), dtype=np.int64)
    for t in range(attempts):
        p = np.where(known, 1 - slip[:, None], guess[:, None])
        correct[:, :, t] = rng.random((skills, learners)) < p
        known |= rng.random((skills, learners)) < learn[:, None]
    s, u, t = np.meshgrid(np.arange(skills), np.arange(learners), np.arange(attempts), indexing="ij")
    order = np.argsort(t.ravel() * skills * learners + u.ravel() * skills + s.ravel(), kind="stable")
    table = pa.table({
        "order_id": np.arange(s.size, dtype=np.int64),
        "user_id": pa.array([f"u{i}" for i in u.ravel()[order]]),
        "skill_name": pa.array([f"skill{i}" for i in s.ravel()[order]]),
        "correct": correct.ravel()[order],
    })
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)


def worker(library, source, num_fits):
    import pyarrow.parquet as pq

    table = pq.read_table(PATH)
    if source == "polars":
        import polars as pl

        data = pl.from_arrow(table)
    elif source == "pandas":
        data = table.to_pandas()
    else:
        data = table
    del table
    if library == "pybkt":
        import pyBKT.fit.E_step  # noqa: F401  (fails if the compiled build is missing)
        from pyBKT.models import Model

        model = Model(seed=42, num_fits=num_fits, parallel=False)
    else:
        from mastery.pybkt import Model

        model = Model(seed=42, num_fits=num_fits, parallel=False, max_guess=None, max_slip=None)
    start = time.perf_counter()
    model.fit(data=data)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak,
                      "skill0": [round(v, 4) for v in model.params().loc["skill0"]["value"].tolist()]}))


def main():
    # REPEAT=n rounds (default 3), pyBKT and each mastery input alternating within a round; the
    # table shows the best time of each and every round's ratio against that round's pyBKT.
    if not os.path.exists(PATH):
        simulate(PATH)
    repeat = int(os.environ.get("REPEAT", "3"))
    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
    print("BKT fit, 2,000,000 responses (50 skills x 2,000 learners x 20 attempts), one thread each;"
          f" {repeat} rounds of fresh processes, alternating")
    print(f"{'library':8} {'input':8} {'fits':>4} {'best s':>8} {'peak MB':>8} {'vs pyBKT':>9}  per-round ratios")
    for num_fits in (1, 5):
        results = {}
        for _ in range(repeat):
            for library, source in RUNS:
                out = subprocess.run([sys.executable, __file__, "--worker", library, source, str(num_fits)],
                                     check=True, capture_output=True, text=True, env=env).stdout
                results.setdefault((library, source), []).append(json.loads(out.strip().splitlines()[-1]))
        base_runs = results[RUNS[0]]
        base = min(r["seconds"] for r in base_runs)
        for library, source in RUNS:
            runs = results[(library, source)]
            best = min(runs, key=lambda r: r["seconds"])
            rounds = " ".join(f"{b['seconds'] / r['seconds']:.1f}x" for b, r in zip(base_runs, runs))
            print(f"{library:8} {source:8} {num_fits:4} {best['seconds']:8.3f} {best['peak_mb']:8.0f}"
                  f" {base / best['seconds']:8.1f}x  {rounds}   skill0 {best['skill0']}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()

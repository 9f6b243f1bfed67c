"""BKT on N responses (default 50,000,000): one process (mastery.BKTModel on a pyarrow table)
against mastery.spark.fit_bkt on Spark local[2], time and peak memory (the driver's and the
Python workers' RSS, sampled). The same simulated log (parquet) feeds both.

Usage: target/venv/bin/python benches/spark_bkt.py [rows] [skills]
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time

OUT = "target/bench"


def simulate(path, rows, skills):
    """`rows` responses: `skills` skills, 20 attempts per learner and skill, seeded."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    attempts = 20
    learners = rows // (skills * attempts)
    rng = np.random.default_rng(11)
    writer = None
    for s in range(skills):
        p_known = rng.random(learners) < rng.uniform(0.1, 0.5)
        learn, guess, slip = rng.uniform(0.05, 0.3), rng.uniform(0.1, 0.3), rng.uniform(0.05, 0.2)
        correct = np.empty((learners, attempts), dtype=np.int8)
        for t in range(attempts):
            correct[:, t] = rng.random(learners) < np.where(p_known, 1 - slip, guess)
            p_known |= rng.random(learners) < learn
        user = np.repeat(np.arange(learners, dtype=np.int64), attempts)
        batch = pa.table({"user_id": user, "skill_name": pa.array(np.full(user.size, s, dtype=np.int32)),
                          "correct": correct.ravel(),
                          "order_id": np.tile(np.arange(attempts, dtype=np.int64), learners)})
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
    writer.close()


def rss_tree_mb(pid):
    """RSS of a process and its descendants (MB)."""
    total = 0
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        children = []
    try:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        pass
    return total + sum(rss_tree_mb(int(c)) for c in children)


def single(path):
    import pyarrow.parquet as pq

    import mastery

    table = pq.read_table(path)
    start = time.perf_counter()
    model = mastery.BKTModel(num_fits=1, seed=42).fit(data=table)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "skills": len(json.loads(model.to_json())["model"]["skills"])}))


def spark(path, cores):
    from pyspark.sql import SparkSession

    from mastery import spark as mspark

    session = (SparkSession.builder.master(f"local[{cores}]").config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "6g").config("spark.sql.shuffle.partitions", str(cores * 4))
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000000").getOrCreate())
    df = session.read.parquet(path)
    df.count()
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_tree_mb(os.getpid()))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    model = mspark.fit_bkt(df, num_fits=1, seed=42)
    seconds = time.perf_counter() - start
    done.set()
    session.stop()
    print(json.dumps({"seconds": seconds, "peak_mb": peak[0],
                      "skills": len(json.loads(model.to_json())["model"]["skills"])}))


def main(rows, skills):
    os.makedirs(OUT, exist_ok=True)
    path = f"{OUT}/bkt_{rows // 1_000_000}m.parquet"
    if not os.path.exists(path):
        simulate(path, rows, skills)
    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1", PYSPARK_PYTHON=sys.executable)
    results = {}
    for mode in ("single", "spark"):
        out = subprocess.run([sys.executable, __file__, "--" + mode, path], check=True, capture_output=True,
                             text=True, env=env).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    one, two = results["single"], results["spark"]
    print(f"BKT fit, {rows:,} responses, {skills} skills, 1 restart")
    print(f"one process (1 core):   {one['seconds']:7.1f} s, peak {one['peak_mb']:6.0f} MB")
    print(f"Spark local[2] (2 cores): {two['seconds']:7.1f} s, peak {two['peak_mb']:6.0f} MB (driver JVM + workers)")
    print(f"Spark time per core / single: {two['seconds'] * 2 / one['seconds']:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    if sys.argv[1] == "--single":
        single(sys.argv[2])
    elif sys.argv[1] == "--spark":
        spark(sys.argv[2], 2)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 50)

"""BKT on N responses (default 50,000,000): one process (mastery.BKTModel on a pyarrow table)
against mastery.spark.fit_bkt on Spark local[2], time and peak memory (the driver's and the
Python workers' RSS, sampled). The same simulated log (parquet, one row group per skill) feeds
both. Spark runs twice: the direct scan (tasks read the row groups of their skills) and the
shuffle (``direct_scan=False``: ``groupBy(skill).applyInArrow``); ``SHUFFLE=0`` skips the
shuffle (about two minutes at 50 M). ``ROUNDS=n`` repeats single and direct alternately.

Usage: target/bench-venv/bin/python benches/spark_bkt.py [rows] [skills]
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


def children(pid):
    """Child process ids, from /proc (no subprocess: the sampler must not load the machine)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def rss_tree_mb(pid):
    """RSS of a process and its descendants (MB)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        pass
    return total + sum(rss_tree_mb(c) for c in children(pid))


def cpu_seconds_tree(pid):
    """CPU time (user + system) of a process and its descendants, in seconds."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return total
    return total + sum(cpu_seconds_tree(c) for c in children(pid))


def wait_until_idle(pid, limit=60.0):
    """Waits until the JVM has finished compiling its start-up code (its process tree uses under
    5% of a core for a second), so the fit is not timed against the JIT; returns the wait."""
    jvm = children(pid)
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = sum(cpu_seconds_tree(c) for c in jvm)
        time.sleep(1.0)
        if sum(cpu_seconds_tree(c) for c in jvm) - before < 0.05:
            break
    return time.perf_counter() - start


def single(path):
    import pyarrow.parquet as pq

    import mastery

    table = pq.read_table(path)
    start = time.perf_counter()
    model = mastery.BKTModel(num_fits=1, seed=42).fit(data=table)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "skills": len(json.loads(model.to_json())["model"]["skills"])}))


def spark(path, cores, direct):
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
    # Start the session's Python workers (one tiny task per core) and import mastery and pyarrow
    # in them, as the single process has started Python and imported both before its timer; the
    # cold figure adds this back. Then let the JVM finish compiling its start-up code: a
    # long-lived session has, and a fresh one spends both cores on it for several seconds.
    start = time.perf_counter()
    session.sparkContext.parallelize(range(cores), cores).map(
        lambda x: (__import__("mastery.spark"), __import__("pyarrow.parquet"), x)[2]).collect()
    workers = time.perf_counter() - start
    idle = wait_until_idle(os.getpid())
    start = time.perf_counter()
    model = mspark.fit_bkt(df, num_fits=1, seed=42, direct_scan=direct)
    seconds = time.perf_counter() - start
    done.set()
    session.stop()
    print(json.dumps({"seconds": seconds, "cold_seconds": seconds + workers, "idle_wait": idle, "peak_mb": peak[0],
                      "skills": len(json.loads(model.to_json())["model"]["skills"])}))


def main(rows, skills):
    os.makedirs(OUT, exist_ok=True)
    path = f"{OUT}/bkt_{rows // 1_000_000}m.parquet"
    if not os.path.exists(path):
        simulate(path, rows, skills)
    env = dict(os.environ, RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1", PYSPARK_PYTHON=sys.executable)
    rounds = int(os.environ.get("ROUNDS", "1"))
    modes = ["single", "spark-direct"] * rounds + (["spark-shuffle"] if os.environ.get("SHUFFLE", "1") != "0" else [])
    results = {}
    for mode in modes:
        out = subprocess.run([sys.executable, __file__, "--" + mode, path], check=True, capture_output=True,
                             text=True, env=env).stdout
        results.setdefault(mode, []).append(json.loads(out.strip().splitlines()[-1]))
        print(mode, results[mode][-1], flush=True)
    one = min(results["single"], key=lambda r: r["seconds"])
    print(f"BKT fit, {rows:,} responses, {skills} skills, 1 restart, best of {rounds}")
    print(f"one process (1 core):   {one['seconds']:7.1f} s, peak {one['peak_mb']:6.0f} MB")
    for mode in ("spark-direct", "spark-shuffle"):
        if mode not in results:
            continue
        two = min(results[mode], key=lambda r: r["seconds"])
        print(f"Spark local[2] {mode[6:]:>7} (2 cores): {two['seconds']:7.1f} s, peak {two['peak_mb']:6.0f} MB "
              f"(driver JVM + workers); per core / single: {two['seconds'] * 2 / one['seconds']:.2f}x (target <= 1.5x); "
              f"cold (workers started in the timer) {two['cold_seconds']:.1f} s, "
              f"{two['cold_seconds'] * 2 / one['seconds']:.2f}x")
    if rounds > 1:
        pairs = [2 * d["seconds"] / s["seconds"] for s, d in zip(results["single"], results["spark-direct"])]
        print("per-round ratios, direct:", " ".join(f"{r:.2f}x" for r in pairs))
        cold = [2 * d["cold_seconds"] / s["seconds"] for s, d in zip(results["single"], results["spark-direct"])]
        print("per-round ratios, direct, cold:", " ".join(f"{r:.2f}x" for r in cold))

if __name__ == "__main__":
    if sys.argv[1] == "--single":
        single(sys.argv[2])
    elif sys.argv[1] == "--spark-direct":
        spark(sys.argv[2], 2, True)
    elif sys.argv[1] == "--spark-shuffle":
        spark(sys.argv[2], 2, False)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 50)

"""Ingest through `mastery.Engine` from Python: the embedded store against a store written in
Python (`mastery.DictStore`, whose values cross as JSON text: `value_format = "json"`; and the
same store with values as dicts, the protocol's default), single-competency records in batches
of 1,000, one thread.

Usage (from the repository root, with the module built in release mode into a venv):
    (cd mastery-py && maturin develop --release)
    python benches/engine_python_store.py [records]
"""

import gc
import sys
import time

import mastery

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
BATCH = 1_000
SERVICE = {"tenant": "district", "user": "importer", "roles": [{"role": "service"}]}


def batches(n):
    out = []
    for start in range(0, n, BATCH):
        out.append([
            {
                "id": f"e{i}",
                "learner": f"learner-{i % 1000}",
                "course": "algebra-1",
                "competencies": [f"skill-{(i // 1000) % 20}"],
                "kind": "response",
                "score": {"scaled": (i * 7919 % 101) / 100},
                "occurred_at": f"2026-01-05T{8 + (i // 1000) // 60 % 12:02d}:{(i // 1000) % 60:02d}:00Z",
                "source": "host",
            }
            for i in range(start, min(start + BATCH, n))
        ])
    return out


def as_arrow(batch):
    import pyarrow as pa

    return pa.table({
        "id": [r["id"] for r in batch], "learner": [r["learner"] for r in batch],
        "course": [r["course"] for r in batch], "competencies": [r["competencies"] for r in batch],
        "score.scaled": [r["score"]["scaled"] for r in batch], "occurred_at": [r["occurred_at"] for r in batch],
    })


class DictValues(mastery.DictStore):
    """DictStore with its values as nested dicts (a store that does not declare value_format)."""

    value_format = None


def run(name, make_store, arrow=False):
    data = batches(N)
    if arrow:
        data = [as_arrow(b) for b in data]
    engine = mastery.Engine(store=make_store()) if make_store else mastery.Engine()
    start, cpu = time.perf_counter(), time.process_time()
    for batch in data:
        outcome = engine.ingest(SERVICE, batch)
        assert outcome["new"] == (batch.num_rows if arrow else len(batch)), outcome
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU time as well: on a loaded machine the wall clock counts other processes' turns.
    print(f"{name:28} {N / seconds:>10,.0f} records/s  ({seconds:.2f} s for {N:,}; "
          f"by CPU time {N / cpu:,.0f}/s)", flush=True)
    return N / seconds


if __name__ == "__main__":
    print(f"Engine.ingest from Python, {N:,} single-competency records in batches of {BATCH:,}, one thread")
    for _ in range(2):
        embedded = run("embedded memory store", None)
        run("embedded, Arrow batches", None, arrow=True)
        python = run("Python store (DictStore)", mastery.DictStore)
        run("Python store, dict values", DictValues)
        print(f"{'ratio embedded/python':28} {embedded / python:>10.2f}x")
    # A store that keeps its records as Python dicts makes CPython's cyclic collector walk them
    # all, again and again, as the store grows: shown separately, not a setting we recommend.
    gc.disable()
    run("Python store, gc disabled", mastery.DictStore)
    gc.enable()

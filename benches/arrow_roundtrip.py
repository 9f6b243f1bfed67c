"""Arrow round trip of 10,000,000 risk predictions: a pyarrow feature table in, an Arrow `score`
table out (then numpy and Polars views of it), with the process's peak memory above the data.

Usage: RAYON_NUM_THREADS=1 target/venv/bin/python benches/arrow_roundtrip.py [rows]
"""

import resource
import sys
import time

import numpy as np
import polars as pl  # imported before the baseline: its own code is not the round trip's memory
import pyarrow as pa

import mastery


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(rows):
    x, y, names = mastery.synthetic_risk_data(20_000, 1)
    names = names[:6]
    clf = mastery.RiskClassifier(n_estimators=100, early_stopping=False, random_state=0, n_jobs=1).fit(x[:, :6], y, feature_names=names)
    rng = np.random.default_rng(0)
    # Six float64 columns, each its own contiguous buffer (pa.array of a contiguous array: no copy).
    table = pa.table({n: pa.array(rng.normal(loc=x[:, i].mean(), scale=x[:, i].std() + 1, size=rows))
                      for i, n in enumerate(names)})
    del x, y
    data_mb = table.nbytes / 2**20
    clf.predict_table(table.slice(0, 100_000))  # warm: first-call allocations (tree packing) are not per row
    base = peak_mb()
    start = time.perf_counter()
    out = clf.predict_table(table)
    scored = time.perf_counter() - start
    arrow = pa.table(out)                     # imported through __arrow_c_stream__
    scores = arrow.column("score").chunk(0).to_numpy(zero_copy_only=True)
    frame = pl.DataFrame(out)                 # Polars through the same interface
    assert frame.height == rows and scores.shape == (rows,)
    output_mb = rows * 8 / 2**20
    above = peak_mb() - base
    print(f"{rows:,} predictions from a {data_mb:.0f} MB Arrow table: {scored:.2f} s, "
          f"output {output_mb:.0f} MB, peak memory above the data {above:.0f} MB "
          f"({above / output_mb:.2f}x the output; target < 1.2x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)

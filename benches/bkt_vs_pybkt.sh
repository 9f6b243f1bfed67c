#!/usr/bin/env bash
# Side by side: compiled pyBKT and mastery on the same 2-million-row log, one thread each.
# Usage: benches/bkt_vs_pybkt.sh   (sets up target/bench-venv the first time; takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/bench-venv
OUT=target/bench && mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
# pyarrow as mastery's `pandas` extra installs it (pandas then holds strings in Arrow); polars for
# bkt_arrow_vs_pybkt.py.
"$VENV/bin/pip" install -q --disable-pip-version-check "numpy<2.3" "scikit-learn<1.7" pandas pyarrow polars \
  setuptools wheel "maturin==1.16.0"
if ! "$VENV/bin/python" -c "import pyBKT.fit.E_step" 2>/dev/null; then
  # pyBKT's default wheel is pure Python; its C++ build needs numpy at build time.
  "$VENV/bin/pip" install -q --no-build-isolation --no-cache-dir --force-reinstall --no-deps --no-binary pybkt pybkt==1.4.3
  "$VENV/bin/pip" install -q requests
fi
(cd mastery-py && PATH="$PWD/../$VENV/bin:$PATH" VIRTUAL_ENV="$PWD/../$VENV" maturin develop --release -q)
cargo build --release -q -p mastery-benches --bin bkt-bench
./target/release/bkt-bench --write-csv "$OUT/bkt_2m.csv" > "$OUT/bkt_rust.json"
OMP_NUM_THREADS=1 "$VENV/bin/python" benches/bkt_vs_pybkt.py "$OUT/bkt_2m.csv" "$OUT/bkt_rust.json"

#!/usr/bin/env bash
# Side by side: LightGBM (PyPI) and mastery train on the same 800,000 synthetic rows and predict
# 1,000,000, one thread each; then two threads each, reported separately.
# Usage: benches/risk_vs_lightgbm.sh   (sets up target/bench-venv the first time; takes minutes)
#        REPEAT=3 THREADS=1 benches/risk_vs_lightgbm.sh   (best of three fresh runs, one thread)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/bench-venv
OUT=target/bench && mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q --disable-pip-version-check "numpy<2.3" "scikit-learn<1.7" pandas pyarrow "maturin==1.16.0" "lightgbm>=4,<5"
(cd mastery-py && PATH="$PWD/../$VENV/bin:$PATH" VIRTUAL_ENV="$PWD/../$VENV" maturin develop --release -q)
cargo build --release -q -p mastery-benches --bin risk-bench
RAYON_NUM_THREADS=1 ./target/release/risk-bench --write "$OUT/risk" > "$OUT/risk_rust.json"
"$VENV/bin/python" benches/risk_vs_lightgbm.py "$OUT/risk" "$OUT/risk_rust.json"
# OULAD at day 60 (real data, small): the defaults' test AUC against LightGBM's rounds.
OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 "$VENV/bin/python" benches/oulad_vs_lightgbm.py fixtures/data/oulad

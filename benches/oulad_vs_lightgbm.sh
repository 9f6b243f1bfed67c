#!/usr/bin/env bash
# OULAD at day 60: mastery's RiskClassifier defaults (early stopping) against LightGBM 4 at 50-300
# rounds and with its own early stopping, one thread each; prints test AUCs (seconds: small data).
# Usage: benches/oulad_vs_lightgbm.sh   (VENV=... to use another virtualenv; default target/oulad-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-target/oulad-venv}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q --disable-pip-version-check numpy scikit-learn pandas pyarrow "maturin==1.16.0" "lightgbm>=4,<5"
(cd mastery-py && PATH="$(cd .. && cd "$VENV" && pwd)/bin:$PATH" VIRTUAL_ENV="$(cd .. && cd "$VENV" && pwd)" maturin develop --release -q)
OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 "$VENV/bin/python" benches/oulad_vs_lightgbm.py fixtures/data/oulad

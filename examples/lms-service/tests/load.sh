#!/usr/bin/env bash
# The load figures of the README: builds the release service and load client, then on a
# throw-away PostgreSQL (tests/pg.sh) starts the service, runs `load` (fixed request counts,
# LOAD_* settings pass through) and stops the service.
#
# Usage: examples/lms-service/tests/load.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -q -p lms-service --bins
exec examples/lms-service/tests/pg.sh bash -c '
  set -euo pipefail
  PORT=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
  export LMS_BIND=127.0.0.1:$PORT LMS_ADDR=127.0.0.1:$PORT LMS_JWT_SECRET=load-secret
  target/release/lms-service 2>target/lms-load-service.log &
  SVC=$!
  trap "kill $SVC 2>/dev/null; wait $SVC 2>/dev/null || true" EXIT
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
  echo "load: $(nproc) cores, LMS_PG_POOL=${LMS_PG_POOL:-16}"
  target/release/load
'

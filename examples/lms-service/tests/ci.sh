#!/usr/bin/env bash
# The `lms-postgres` CI suite: on one throw-away PostgreSQL, the service's tests (access matrix,
# concurrency, kill -9, malformed input, RLS, conformance, OpenAPI) and then schemathesis.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec examples/lms-service/tests/pg.sh bash -c '
  cargo test -p lms-service --features pg-tests
  examples/lms-service/tests/schemathesis.sh
'

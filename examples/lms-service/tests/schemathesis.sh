#!/usr/bin/env bash
# Schemathesis (PyPI) against the live service's OpenAPI document: no 5xx, and every response
# conforms to the document (status code, content type, schema). Runs under tests/pg.sh (needs
# DATABASE_URL and MIGRATION_DATABASE_URL); installs schemathesis into target/venv-schemathesis
# when missing. Bounded: SCHEMATHESIS_EXAMPLES examples per operation (default 100). The event
# stream (server-sent events, open until its timeout) is left out: a request/response fuzzer
# cannot read an endless body; tests/api.rs covers it.
#
# Usage: examples/lms-service/tests/pg.sh examples/lms-service/tests/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=target/venv-schemathesis
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi
cargo build -q -p lms-service --bin lms-service
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export LMS_BIND=127.0.0.1:$PORT LMS_JWT_SECRET=schemathesis-secret LMS_PUBLIC_HOST="127.0.0.1%3A$PORT"
target/debug/lms-service 2>target/lms-schemathesis-service.log &
SVC=$!
trap 'kill $SVC 2>/dev/null; wait $SVC 2>/dev/null || true' EXIT
for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
# An HS256 token of a tenant admin that is also a service and teaches maths-101.
TOKEN=$(python3 - <<'PY'
import base64, hashlib, hmac, json, os
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = {"sub": "schemathesis", "tenant": "t1", "roles": ["admin", "service", "instructor"],
          "courses": ["maths-101"], "enrolled": [], "exp": 4000000000}
body = b64(json.dumps(claims).encode())
sig = b64(hmac.new(os.environ["LMS_JWT_SECRET"].encode(), head + b"." + body, hashlib.sha256).digest())
print((head + b"." + body + b"." + sig).decode())
PY
)
# From target/, where it keeps its example database (.schemathesis/).
cd target
"../$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" --phases examples,coverage,fuzzing \
  --exclude-path /api/events/learners/{learner} --suppress-health-check all --request-timeout 20 --seed 1 --no-color

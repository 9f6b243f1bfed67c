#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 cluster (Debian's binaries, as the `postgres` user, in a
# temporary directory, on a free loopback port), creates the owner and app roles, exports
# DATABASE_URL (the app role) and MIGRATION_DATABASE_URL (the owner role), runs the given command
# (default: the service's PostgreSQL tests) and always stops the cluster.
#
# Usage: examples/lms-service/tests/pg.sh [COMMAND...]
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=/usr/lib/postgresql/15/bin
if [ ! -x "$BIN/initdb" ]; then
  apt-get install -y -q postgresql-15 >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q postgresql-15 >/dev/null; }
fi
id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

DIR=$(mktemp -d /tmp/lms-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT
as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
# A test cluster: durability off (fsync) unless PG_DURABLE=1, for the load figures.
DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${PG_DURABLE:-0}" = 1 ] && DURABILITY=""
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 $DURABILITY ${PG_OPTS:-}" start >/dev/null
psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres <<'SQL'
CREATE ROLE mastery_owner LOGIN CREATEDB;
CREATE ROLE mastery_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE mastery OWNER mastery_owner;
SQL
export DATABASE_URL="postgres://mastery_app@127.0.0.1:$PORT/mastery"
export MIGRATION_DATABASE_URL="postgres://mastery_owner@127.0.0.1:$PORT/mastery"
echo "pg.sh: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT ($DIR)"
if [ "$#" -eq 0 ]; then
  set -- cargo test -p lms-service --features pg-tests
fi
"$@"

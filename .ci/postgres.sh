#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the results-store tests.
#
# Usage (from .ci/run):   eval "$(bash .ci/postgres.sh)"
# It installs Debian's postgresql with apt-get when it is missing, creates a cluster in a temporary
# folder owned by the 'postgres' user, starts it on 127.0.0.1:${NASAUDIT_PG_PORT:-54329} with trust
# authentication (local CI only), creates the database 'nasaudit_test', and prints on stdout
#   export NASAUDIT_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:PORT/nasaudit_test
# Progress goes to stderr. The Python driver is the 'postgres' extra: pip install -e ".[postgres]".
set -euo pipefail

PORT="${NASAUDIT_PG_PORT:-54329}"
DB=nasaudit_test

log() { echo "postgres.sh: $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

DATA="$(mktemp -d /tmp/nasaudit-pg.XXXXXX)"
chown postgres:postgres "$DATA"
as_postgres() { runuser -u postgres -- "$@"; }

as_postgres "$BIN/initdb" -D "$DATA/data" --auth=trust --username=postgres --encoding=UTF8 >&2
as_postgres "$BIN/pg_ctl" -D "$DATA/data" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA" start >&2
as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
log "server running on 127.0.0.1:$PORT (data $DATA, log $DATA/server.log)"

echo "export NASAUDIT_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:$PORT/$DB"

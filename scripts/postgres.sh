#!/usr/bin/env bash
# A private PostgreSQL server for the tests and benchmarks: its own data directory, on loopback
# only, trust authentication (nothing but this machine can reach it), fsync off (a crash loses
# only test data). Debian's postgresql package provides the binaries; no system cluster is used.
#   scripts/postgres.sh start   prints the server's URL (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh stop    stops it and removes its data directory
# PG_DIR (default /tmp/seedcast-pg) and PG_PORT (default 55432) choose where.
set -euo pipefail
DIR=${PG_DIR:-/tmp/seedcast-pg}
PORT=${PG_PORT:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "scripts/postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
# PostgreSQL refuses to run as root: root runs it as the postgres user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR"
    as_owner "$BIN/initdb" -D "$DIR" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  fi
  if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
      start >/dev/null
  fi
  echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
  ;;
stop)
  as_owner "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  ;;
*)
  echo "usage: scripts/postgres.sh start|stop" >&2
  exit 2
  ;;
esac

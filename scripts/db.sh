#!/usr/bin/env bash
# Installs, starts and stops the MongoDB-protocol server the integration tests use:
# FerretDB 1.24.2 on the machine's PostgreSQL, listening on loopback only, no telemetry.
#
#   scripts/db.sh start    build it if needed, start it, wait until it answers; prints the URI
#   scripts/db.sh stop     stop it
#   scripts/db.sh uri      print the URI
#   scripts/db.sh status   exit 0 when it answers
#
# Environment: PROCSTATE_FERRETDB_PORT (default 27027), PROCSTATE_FERRETDB_PG (PostgreSQL URL,
# default postgres://root@127.0.0.1:5432/procstate_ferretdb).
#
# The pool is set explicitly. FerretDB 1.24 holds one pool connection per statement of an update
# command until the command ends, and waits for one more to write (see docs/operations.md): once
# the statements in flight fill the pool, the server stops answering. The printed URI caps every
# client at MAX_POOL_SIZE connections, so that the clients of a test or benchmark (a few worker
# processes, each sending update commands of at most 3 statements) stay well below the pool.
#
# The machine's PostgreSQL runs with autovacuum off: nothing would vacuum or analyze FerretDB's
# tables, so dead rows pile up during a run and the planner keeps the statistics of empty tables
# (a 5,000-entry fan-out took three times as long). While FerretDB runs, a maintenance loop does
# what autovacuum would, for FerretDB's database only: VACUUM (ANALYZE) every 20 seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$root/.cache/ferretdb"
port="${PROCSTATE_FERRETDB_PORT:-27027}"
pg_url="${PROCSTATE_FERRETDB_PG:-postgres://root@127.0.0.1:5432/procstate_ferretdb}"
pool_max_conns=80
max_pool_size=6
# Idle connections go back to PostgreSQL soon, so that its other users (pg-boss in the benchmark) find room.
case "$pg_url" in
  *pool_max_conns=*) ;;
  *\?*) pg_url="${pg_url}&pool_max_conns=${pool_max_conns}&pool_max_conn_idle_time=30s" ;;
  *) pg_url="${pg_url}?pool_max_conns=${pool_max_conns}&pool_max_conn_idle_time=30s" ;;
esac
binary="$state/bin/ferretdb-server"
pidfile="$state/ferretdb.pid"
maintenance_pidfile="$state/maintenance.pid"
logfile="$state/ferretdb.log"
uri="mongodb://127.0.0.1:${port}/?maxPoolSize=${max_pool_size}"

log() { printf 'db.sh: %s\n' "$*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; }

install_server() {
  local source="$root/test/ferretdb"
  if [[ -x "$binary" && "$binary" -nt "$source/main.go" && "$binary" -nt "$source/go.sum" ]]; then return; fi
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { log "Go is needed to build FerretDB (looked in PATH and /usr/local/go/bin)"; exit 1; }
  log "building FerretDB 1.24.2 (the first build takes a few minutes)"
  mkdir -p "$state/bin"
  (cd "$source" && GOBIN="$state/bin" GOFLAGS=-mod=mod go install .)
}

ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "PostgreSQL does not answer on 127.0.0.1:5432; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  local database="${pg_url##*/}"
  database="${database%%\?*}"
  local server="${pg_url%/*}/postgres"
  if ! psql "$server" -tAc "select 1 from pg_database where datname = '${database}'" | grep -q 1; then
    createdb --maintenance-db="$server" "$database" 2>/dev/null || true
  fi
}

# See scripts/ferretdb-gin.sql: lets PostgreSQL serve FerretDB's equality filters from indexes.
install_gin_twins() {
  psql -q -v ON_ERROR_STOP=1 "${pg_url%%\?*}" -f "$root/scripts/ferretdb-gin.sql" >/dev/null
}

# VACUUM (ANALYZE) of FerretDB's database every 20 s while FerretDB runs; failures (PostgreSQL
# restarting) are skipped. One loop per server.
start_maintenance() {
  if [[ -f "$maintenance_pidfile" ]] && kill -0 "$(cat "$maintenance_pidfile")" 2>/dev/null; then return; fi
  local plain="${pg_url%%\?*}"
  # The state folder may not exist yet: a server another checkout started answers already.
  mkdir -p "$state"
  nohup bash -c "while true; do sleep 20; psql -q '$plain' -c 'vacuum (analyze, skip_locked)' >/dev/null 2>&1 || true; done" >/dev/null 2>&1 &
  echo $! >"$maintenance_pidfile"
}

start() {
  if answers; then install_gin_twins; start_maintenance; echo "$uri"; return; fi
  install_server
  ensure_postgres
  install_gin_twins
  mkdir -p "$state"
  nohup "$binary" --listen-addr "127.0.0.1:${port}" --postgresql-url "$pg_url" --log-level warn >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if answers; then start_maintenance; echo "$uri"; return; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  log "FerretDB did not start; its log ($logfile):"
  tail -n 20 "$logfile" >&2 || true
  exit 1
}

stop() {
  if [[ -f "$maintenance_pidfile" ]]; then kill "$(cat "$maintenance_pidfile")" 2>/dev/null || true; rm -f "$maintenance_pidfile"; fi
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  uri) echo "$uri" ;;
  status) answers ;;
  *) echo "usage: scripts/db.sh start|stop|uri|status" >&2; exit 64 ;;
esac

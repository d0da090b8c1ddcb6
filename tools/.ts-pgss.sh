#!/usr/bin/env bash
# The private PostgreSQL cluster and Redis server of one test run (used by ./test.sh; runnable on its own).
#   tools/test-servers.sh start       initdb + start PostgreSQL and Redis on 127.0.0.1
#   tools/test-servers.sh stop        stop both, remove the PostgreSQL directory
#   tools/test-servers.sh self-test   start and stop them from a copy of this script in a checkout-like folder under a
#                                     mode-700 directory (what a clone in /root or a home directory looks like)
# Ports: CAFCONNECT_TEST_PG_PORT (15432) and CAFCONNECT_TEST_REDIS_PORT (16379).
#
# Where things go. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user, who cannot
# enter a checkout below a private directory (/root is mode 700). Everything that user must reach — data directory,
# socket, server log — is therefore in a fresh `mktemp -d` directory under the system's temporary directory, owned by
# `postgres` and removed by `stop`. Redis runs as the caller and stays in the checkout (.test-run/redis), with the
# other files of the run; .test-run/pg-dir records where the cluster is.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# CAFCONNECT_TEST_RUN_DIR: another run directory, for a second pair of servers beside a test run (bench/run.sh).
run_dir="${CAFCONNECT_TEST_RUN_DIR:-$root/.test-run}"
pg_port="${CAFCONNECT_TEST_PG_PORT:-15432}"
redis_port="${CAFCONNECT_TEST_REDIS_PORT:-16379}"
log() { printf '[test-servers] %s\n' "$*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }
# As root the cluster belongs to the postgres user; otherwise to the caller.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# /tmp itself, not $TMPDIR: a per-user TMPDIR may be private too, and the postgres user must reach the directory.
new_pg_dir() {
  local dir
  dir="$(mktemp -d /tmp/cafconnect-test-pg.XXXXXX)" || return 1
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir" || return 1; fi
  printf '%s\n' "$dir"
}

start_servers() {
  stop_servers # a run killed without its clean-up (SIGKILL) may have left servers on these ports
  rm -rf "$run_dir" && mkdir -p "$run_dir/redis" || { log "cannot create $run_dir"; return 2; }
  local pg_dir
  pg_dir="$(new_pg_dir)" || { log "cannot create the PostgreSQL directory under /tmp"; return 2; }
  printf '%s\n' "$pg_dir" >"$run_dir/pg-dir"
  log "starting PostgreSQL on 127.0.0.1:$pg_port (cluster in $pg_dir)"
  as_pg "$(pg_bin)/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >"$run_dir/pg-init.log" 2>&1 \
    || { cat "$run_dir/pg-init.log" >&2; return 2; }
  as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" start >/dev/null \
    || { cat "$pg_dir/server.log" >&2; return 2; }
  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$run_dir/redis" --pidfile "$run_dir/redis/redis.pid" --logfile "$run_dir/redis/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { log "Redis did not start (see $run_dir/redis/redis.log)"; return 2; }
}

stop_servers() {
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  local pg_dir
  pg_dir="$(cat "$run_dir/pg-dir" 2>/dev/null)" || return 0
  case "$pg_dir" in /tmp/cafconnect-test-pg.*) ;; *) return 0 ;; esac
  if [ -d "$pg_dir/data" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_dir" "$run_dir/pg-dir"
}

# Copies this script into <mode-700 dir>/checkout/tools/, starts the servers from there, checks both answer, stops
# them and checks nothing is left behind. Uses the run's own ports, before the run's servers start.
self_test() {
  local private checkout status=0 pg_dir
  private="$(mktemp -d)" || return 2
  chmod 700 "$private"
  checkout="$private/checkout"
  mkdir -p "$checkout/tools" && cp "$0" "$checkout/tools/test-servers.sh"
  log "self-test: server start-up from a checkout under a mode-700 directory ($checkout)"
  if ! bash "$checkout/tools/test-servers.sh" start; then
    log "self-test FAILED: the servers do not start from a checkout under a private directory"
    status=1
  else
    pg_dir="$(cat "$checkout/.test-run/pg-dir")"
    "$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1 \
      || { log "self-test FAILED: PostgreSQL does not answer on 127.0.0.1:$pg_port"; status=1; }
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { log "self-test FAILED: Redis does not answer on 127.0.0.1:$redis_port"; status=1; }
  fi
  bash "$checkout/tools/test-servers.sh" stop
  if [ -n "${pg_dir:-}" ] && [ -e "$pg_dir" ]; then log "self-test FAILED: $pg_dir was not removed"; status=1; fi
  if "$(pg_bin)/pg_isready" -h 127.0.0.1 -p "$pg_port" -t 1 >/dev/null 2>&1; then log "self-test FAILED: PostgreSQL still running"; status=1; fi
  rm -rf "$private"
  [ "$status" = 0 ] && log "self-test passed"
  return "$status"
}

case "${1:-}" in
  start) start_servers ;;
  stop) stop_servers ;;
  self-test) self_test ;;
  *) echo "usage: $0 start|stop|self-test" >&2; exit 64 ;;
esac

#!/usr/bin/env bash
# Runs every test of CafConnect, on a fresh machine as on a developer's.
#  - installs what is missing (PostgreSQL, Redis, Chromium, Node/npm, promtool) with apt-get;
#  - starts a private PostgreSQL cluster and a Redis server on 127.0.0.1 (ports of their own) for this run only,
#    and stops them at the end whatever happens;
#  - runs the whole NUnit suite: every store-dependent test runs on SQLite *and* on PostgreSQL (+ Redis);
#  - ends with one line: "N passed, N failed, N skipped".
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Login]
set -uo pipefail

root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"
run_dir="$root/.test-run"
pg_port="${CAFCONNECT_TEST_PG_PORT:-55432}"
redis_port="${CAFCONNECT_TEST_REDIS_PORT:-56379}"
log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
  local packages=()
  ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || packages+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
  # promtool checks the Prometheus scrape output (tests/CafConnect.IdP.Tests/Operations).
  command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
  if [ ${#packages[@]} -gt 0 ]; then
    log "installing: ${packages[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null 2>&1 || { log "the .NET 10 SDK is required (dotnet not found)"; exit 2; }
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_servers() {
  rm -rf "$run_dir" && mkdir -p "$run_dir/pg" "$run_dir/redis"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$run_dir/pg"
  log "starting PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$(pg_bin)/initdb" -D "$run_dir/pg/data" -U postgres -A trust --no-sync >"$run_dir/pg-init.log" 2>&1 || { cat "$run_dir/pg-init.log"; exit 2; }
  as_pg "$(pg_bin)/pg_ctl" -D "$run_dir/pg/data" -l "$run_dir/pg/server.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $run_dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null \
    || { cat "$run_dir/pg/server.log"; exit 2; }
  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$run_dir/redis" --pidfile "$run_dir/redis/redis.pid" --logfile "$run_dir/redis/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null || { log "Redis did not start"; exit 2; }
}

stop_servers() {
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  [ -d "$run_dir/pg/data" ] && as_pg "$(pg_bin)/pg_ctl" -D "$run_dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
}

# The browser tests' axe-core and the interop relying party (openid-client) come from npm with lock files:
# installed again only when node_modules is missing or the lock file changed since the last install.
npm_ci_when_needed() {
  local dir="$root/$1" stamp="$root/$1/node_modules/.package-lock.sha256" sum npm_log
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && return 0
  log "npm ci in $1"
  npm_log="$(mktemp)"
  (cd "$dir" && npm ci --no-audit --no-fund >"$npm_log" 2>&1) || { cat "$npm_log" >&2; rm -f "$npm_log"; log "npm ci failed in $1"; exit 2; }
  rm -f "$npm_log"
  echo "$sum" >"$stamp"
}

install_missing
npm_ci_when_needed tests/Browser
npm_ci_when_needed tests/Interop
npm_ci_when_needed tests/FranceConnectStandIn
trap stop_servers EXIT
start_servers

export CAFCONNECT_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Pooling=true;Maximum Pool Size=50"
export CAFCONNECT_TEST_REDIS="127.0.0.1:$redis_port"
export CAFCONNECT_REQUIRE_SERVERS=1
# Hundreds of short-lived test hosts (two test assemblies in parallel) would exhaust the per-user inotify instances
# (128 on this kind of machine): file providers poll instead of watching, and the limit is raised when we may.
export DOTNET_USE_POLLING_FILE_WATCHER=1 DOTNET_hostBuilder__reloadConfigOnChange=false
if [ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)" -lt 1024 ]; then
  sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null || log "could not raise fs.inotify.max_user_instances (continuing)"
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

results="$run_dir/results"
mkdir -p "$results"
log "running the suite"
dotnet test CafConnect.IdP.sln --nologo --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$run_dir/dotnet-test.log"
status=${PIPESTATUS[0]}

# Totals from the TRX files (one per test assembly): they count every test even when a host crashed mid-run.
read -r passed failed skipped < <(python3 - "$results" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    if counters is None: continue
    p += int(counters.get("passed", 0)); f += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    # Ignored tests appear only as the gap between total and executed.
    s += int(counters.get("total", 0)) - int(counters.get("executed", 0)) + int(counters.get("inconclusive", 0))
print(p, f, s)
PY
)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  log "dotnet test exited with $status without a failed test: counting the run itself as failed (build error or crash)"
  failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"

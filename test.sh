#!/usr/bin/env bash
# Runs every test of CafConnect, on a fresh machine as on a developer's.
#  - installs what is missing (PostgreSQL, Redis, Chromium, Node/npm, promtool, wrk, nginx, redis-sentinel, aiosmtpd) with apt-get;
#  - starts a private PostgreSQL cluster and a Redis server on 127.0.0.1 (ports of their own) for this run only,
#    and stops them at the end whatever happens (tools/test-servers.sh; the cluster lives in a fresh directory under
#    /tmp, so a checkout below a private directory such as /root works; that start-up is self-tested first);
#  - runs the whole NUnit suite: every store-dependent test runs on SQLite *and* on PostgreSQL (+ Redis);
#  - ends with one line: "N passed, N failed, N skipped".
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Login]
set -uo pipefail

root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"
run_dir="$root/.test-run"
pg_port="${CAFCONNECT_TEST_PG_PORT:-15432}"
redis_port="${CAFCONNECT_TEST_REDIS_PORT:-16379}"
export CAFCONNECT_TEST_PG_PORT="$pg_port" CAFCONNECT_TEST_REDIS_PORT="$redis_port"
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
  # wrk: the load generator of bench/run.sh, whose tiny run is a test (BenchmarkSmokeTests).
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
  # nginx, Redis Sentinel and aiosmtpd (the SMTP stand-in): the fault drill's short mode is a test (FaultDrillTests).
  command -v nginx >/dev/null 2>&1 || packages+=(nginx)
  command -v redis-sentinel >/dev/null 2>&1 || packages+=(redis-sentinel)
  /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || packages+=(python3-aiosmtpd)
  if [ ${#packages[@]} -gt 0 ]; then
    log "installing: ${packages[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null 2>&1 || { log "the .NET 10 SDK is required (dotnet not found)"; exit 2; }
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
npm_ci_when_needed bench/peer
# The servers' start-up is checked first from a checkout under a mode-700 directory (a clone in /root): a cluster
# the postgres user cannot reach must fail here in seconds, not for the next person who clones the project.
tools/test-servers.sh self-test || { log "the test servers cannot start from a private checkout (see above)"; exit 2; }
trap 'tools/test-servers.sh stop' EXIT
tools/test-servers.sh start || exit 2

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
# Only this run's result files are counted (the servers' start clears them only when they share this run directory).
rm -rf "$results" && mkdir -p "$results"
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

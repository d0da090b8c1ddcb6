#!/usr/bin/env bash
# The provider benchmark (issue #14; bench/README.md, "Token endpoint and login throughput"). Starts its own PostgreSQL and
# Redis (tools/test-servers.sh, ports of its own), the provider in Release (Development settings, warnings-only logging)
# and the peer (node oidc-provider, bench/peer), then measures in one run:
#   - client-credentials grant: CafConnect with a generated secret (keyed hash), with a typed secret (PBKDF2), the peer;
#   - refresh grant, public and confidential clients, CafConnect and the peer (rotated refresh tokens, both);
#   - sign-ins through the pages, after a warm-up until their rate is stable, in batches whose second phase runs the login
#     POSTs alone with as many in flight as the hashing limit's hashes (Argon2id throughput of the provider process
#     itself, as many in parallel as cores): the login POSTs' rate against that limit (the issue's "logins"), whole
#     sign-ins' rate for information, and server CPU from /proc/<pid>/stat around the login POSTs alone and whole sign-ins;
#   - managed heap and resident memory (after a full collection) and PostgreSQL bytes by table per session (SESSIONS sign-ins);
#   - scale: the grants and sign-ins again after the store grew to LARGE persons and LARGE_TOKENS token rows (COPY).
# Load: wrk (Debian) with bench/wrk/token.lua; every result carries the load average before and after it.
# Writes bench/results/latest.json, the table of bench/README.md and bench/results/<grant>.png.
#
# Usage: bench/run.sh [--tiny] [--persons N] [--sessions N] [--large N] [--large-tokens N] [--warm-up S] [--seconds S] [--connections "1 4 16 64"]
#   --tiny       the CI check (tests/CafConnect.IdP.Tests/Operations/BenchmarkSmokeTests.cs): a few persons, 1 s runs at
#                one concurrency (4), the warm-ups side by side, the Debug build already there (the bench rebuilt if its
#                sources are newer), results in $BENCH_OUT_DIR (default .bench-run/tiny), README untouched. Every step runs.
# Environment: BENCH_PG_PORT (15516), BENCH_REDIS_PORT (16516), BENCH_PROVIDER_PORT, BENCH_PEER_PORT (free ports in 18000-32767);
#   BENCH_POSTGRES / BENCH_REDIS to use running servers instead of starting them (a fresh database is made and dropped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=full persons=2000 sessions=10000 large=1000000 large_tokens="" warm_up=180 seconds=10 connections="1 4 16 64" configuration=Release
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) mode=tiny persons=20 sessions=20 large=60 large_tokens=200 warm_up=0 seconds=1 connections=4 configuration=Debug ;;
    --persons) persons="$2"; shift ;;
    --sessions) sessions="$2"; shift ;;
    --large) large="$2"; shift ;;
    --large-tokens) large_tokens="$2"; shift ;;
    --warm-up) warm_up="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
# The issue's large store: 5 tokens per person (1,000,000 persons, 5,000,000 tokens).
[ -n "$large_tokens" ] || large_tokens=$((large * 5))
cores="$(nproc)"
run="$root/.bench-run/$mode"
out_dir="${BENCH_OUT_DIR:-$root/bench/results}"
[ "$mode" = tiny ] && out_dir="${BENCH_OUT_DIR:-$run/results}"
raw="$run/raw"
pg_port="${BENCH_PG_PORT:-15516}" redis_port="${BENCH_REDIS_PORT:-16516}"
# A free port below Linux's ephemeral range (32768 and up, handed to outgoing connections): port 0 would give one of
# those, which an outgoing connection may take between this check and the server's start.
free_port() { python3 -c '
import random, socket
for port in random.sample(range(18000, 32768), 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); print(port); break
    except OSError: pass
    finally: s.close()
else: raise SystemExit("no free port in 18000-32767")'; }
provider_port="${BENCH_PROVIDER_PORT:-$(free_port)}" peer_port="${BENCH_PEER_PORT:-$(free_port)}"
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
max_conn="${connections##* }"

command -v wrk >/dev/null || { log "installing wrk (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
rm -rf "$run" && mkdir -p "$raw" "$run/logs" "$run/letters" "$out_dir"
load_before="$(load)"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "mode $mode, $cores cores, load average $load_before"

provider_pid="" peer_pid="" bench_pid="" own_servers=0 database="cafconnect_bench_$(date +%s)_$$"
cleanup() {
  set +e
  if [ -n "$bench_pid" ]; then exec 7>&- 8<&-; kill "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null; fi
  [ -n "$provider_pid" ] && kill "$provider_pid" 2>/dev/null && wait "$provider_pid" 2>/dev/null
  [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null
  if [ "$own_servers" = 1 ]; then
    CAFCONNECT_TEST_RUN_DIR="$run/servers" CAFCONNECT_TEST_PG_PORT="$pg_port" CAFCONNECT_TEST_REDIS_PORT="$redis_port" "$root/tools/test-servers.sh" stop
  elif [ -n "${BENCH_POSTGRES:-}" ]; then
    psql "$(admin_url)" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
  fi
}
trap cleanup EXIT

if [ -n "${BENCH_POSTGRES:-}" ]; then
  postgres="$BENCH_POSTGRES;Database=$database" redis="${BENCH_REDIS:?BENCH_REDIS with BENCH_POSTGRES}"
else
  log "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
  CAFCONNECT_TEST_RUN_DIR="$run/servers" CAFCONNECT_TEST_PG_PORT="$pg_port" CAFCONNECT_TEST_REDIS_PORT="$redis_port" "$root/tools/test-servers.sh" start
  own_servers=1
  postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$database" redis="127.0.0.1:$redis_port"
fi
# psql from the Npgsql connection string (host, port, user).
admin_url() {
  local host port user
  host="$(sed -n 's/.*Host=\([^;]*\).*/\1/p' <<<"$postgres")" port="$(sed -n 's/.*Port=\([^;]*\).*/\1/p' <<<"$postgres")" user="$(sed -n 's/.*Username=\([^;]*\).*/\1/p' <<<"$postgres")"
  echo "postgresql://$user@$host:${port:-5432}/postgres"
}
postgres="$postgres;Maximum Pool Size=100"

if [ "$mode" = tiny ]; then
  idp="$root/src/CafConnect.IdP/bin/$configuration/net10.0" bench="$root/bench/CafConnect.Bench/bin/$configuration/net10.0"
  [ -f "$idp/CafConnect.IdP.dll" ] || dotnet build "$root/src/CafConnect.IdP" -c "$configuration" -v q --nologo >"$run/logs/build.log"
  # The bench's own sources change with the bench (a new command or figure): rebuilt when one is newer than its build.
  if [ ! -f "$bench/CafConnect.Bench.dll" ] || [ -n "$(find "$root/bench/CafConnect.Bench" -maxdepth 1 \( -name '*.cs' -o -name '*.csproj' \) -newer "$bench/CafConnect.Bench.dll" -print -quit)" ]; then
    dotnet build "$root/bench/CafConnect.Bench" -c "$configuration" -v q --nologo >>"$run/logs/build.log" || { cat "$run/logs/build.log"; exit 2; }
  fi
else
  # BENCH_NO_PUBLISH=1: reuse the provider published by the previous full run (same sources).
  idp="$root/.bench-run/idp-$configuration" bench="$root/bench/CafConnect.Bench/bin/$configuration/net10.0"
  log "publishing the provider and building the bench ($configuration)"
  [ -n "${BENCH_NO_PUBLISH:-}" ] && [ -f "$idp/CafConnect.IdP.dll" ] || dotnet publish "$root/src/CafConnect.IdP" -c "$configuration" -o "$idp" --nologo -v q >"$run/logs/publish.log" 2>&1 || { cat "$run/logs/publish.log"; exit 2; }
  dotnet build "$root/bench/CafConnect.Bench" -c "$configuration" --nologo -v q >"$run/logs/build.log" 2>&1 || { cat "$run/logs/build.log"; exit 2; }
fi
# One bench process for the whole run (`serve`: ProviderCommands.cs): each command is a line of tab-separated
# arguments on fd 7, its output comes back on fd 8 up to a line of \x1e and its exit code. A `dotnet` start-up per step
# cost seconds each on a loaded machine; so did a python or psql per wrk run.
mkfifo "$run/bench-in" "$run/bench-out"
dotnet "$bench/CafConnect.Bench.dll" serve <"$run/bench-in" >"$run/bench-out" &
bench_pid=$!
exec 7>"$run/bench-in" 8<"$run/bench-out"
bench() {
  local IFS=$'\t' line
  printf '%s\n' "$*" >&7
  while IFS= read -r line <&8; do
    case "$line" in $'\x1e'*) return "${line#?}" ;; esac
    printf '%s\n' "$line"
  done
  log "the bench process ended"; return 2
}

# Generated secrets, as `cafconnect clients add --generate-secret` prints them (32 random bytes, base64url).
generated() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }
service_secret="$(generated)" rp_secret="$(generated)"
redirect="http://127.0.0.1:5000/demo/callback"

log "starting the provider on 127.0.0.1:$provider_port"
# BENCH_PERF=1: perf can name the JIT-compiled frames (perf map, no double-mapped code); see "profiles" below.
perf_env=()
[ -n "${BENCH_PERF:-}" ] && perf_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
(cd "$idp" && exec env "${perf_env[@]}" ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:$provider_port" \
  Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning \
  Storage__Provider=PostgreSql ConnectionStrings__CafConnect="$postgres" Redis__Configuration="$redis" \
  Notifications__FileSink__Directory="$run/letters" Bench__HashingEndpoint=true \
  Throttling__IpMaxFailures=1000000 \
  Clients__6__ClientId=bench-service Clients__6__DisplayName="Bench service" Clients__6__Kind=Service \
  Clients__6__ClientSecret="$service_secret" Clients__6__Scopes__0=cafconnect.admin \
  Clients__7__ClientId=bench-rp Clients__7__DisplayName="Bench RP" Clients__7__Kind=Confidential \
  Clients__7__ClientSecret="$rp_secret" Clients__7__RedirectUris__0="$redirect" \
  Clients__7__Scopes__0=profile Clients__7__Scopes__1=caf Clients__7__Scopes__2=offline_access \
  dotnet CafConnect.IdP.dll) >"$run/logs/provider.log" 2>&1 7>&- 8<&- &
provider_pid=$!
provider="http://127.0.0.1:$provider_port"
# The provider process itself (dotnet), for /proc/<pid>/stat.
server_pid="$provider_pid"

# The peer starts while the provider does (nothing is measured before both are up).
log "starting the peer (node oidc-provider) on 127.0.0.1:$peer_port"
peer_dir="$root/bench/peer"
sum="$(sha256sum "$peer_dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$peer_dir/node_modules/.package-lock.sha256" ] || [ "$(cat "$peer_dir/node_modules/.package-lock.sha256")" != "$sum" ]; then
  (cd "$peer_dir" && npm ci --no-audit --no-fund >"$run/logs/npm.log" 2>&1) && echo "$sum" >"$peer_dir/node_modules/.package-lock.sha256"
fi
export PEER_PORT="$peer_port" PEER_SERVICE_SECRET="$(generated)" PEER_RP_SECRET="$(generated)"
node "$peer_dir/peer.mjs" >"$run/logs/peer.log" 2>&1 7>&- 8<&- &
peer_pid=$!
peer="http://127.0.0.1:$peer_port"
for _ in $(seq 1 150); do curl -s -o /dev/null "$peer/.well-known/openid-configuration" && break; sleep 0.2; done

# The peer's refresh tokens for the grant runs (one per connection of each run, and the warm-up's), minted through its
# own interaction while the provider is still starting: nothing is measured before it is ready, and minting is done.
refresh_tokens_needed=0
for c in $connections; do refresh_tokens_needed=$((refresh_tokens_needed + c)); done
refresh_tokens_needed=$((refresh_tokens_needed + max_conn)) # the refresh warm-up below
log "minting the peer's refresh tokens through its own interaction"
node "$peer_dir/peer.mjs" mint $((refresh_tokens_needed * 2 + 4)) "$raw/peer-tokens" >>"$run/logs/peer.log" 2>&1 7>&- 8<&- &
mint_pid=$!
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$provider/health/ready")" = 200 ] && break
  kill -0 "$provider_pid" 2>/dev/null || { tail -30 "$run/logs/provider.log" >&2; exit 2; }
  sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$provider/health/ready")" = 200 ] || { log "provider not ready"; tail -30 "$run/logs/provider.log" >&2; exit 2; }
wait "$mint_pid" || { log "the peer's tokens could not be minted"; tail -30 "$run/logs/peer.log" >&2; exit 2; }

log "seeding $persons persons"
bench seed "$postgres" 0 "$persons"

# Sign-ins: the first $persons persons, 2 per core at a time (the login POSTs: below); each gives a refresh token (half
# caf-mobile, half bench-rp).
login_conc=$((cores * 2))
half=$((persons / 2))
hashes=200
[ "$mode" = tiny ] && hashes=4
# The login POSTs (each batch's second phase, the issue's "logins") run with as many in flight as the limit's hashes in
# parallel (the provider's processor count, which the endpoint reports): the same number of hashes competes for the
# cores in both, and the same number of runnable threads for the scheduler of a shared machine. The other phases of a
# sign-in run at 2 per core. This first reading gives that number; the limit of the figures is read again right before
# the measured sign-ins below, so that both see the same moment of a shared machine.
login_post_conc="$(bench hashing-limit "$provider" "$hashes" "$raw/hashing-first.json")"
log "sign-ins: $half persons for caf-mobile, $half for bench-rp, $login_conc at a time ($login_post_conc for the login POSTs)"
# The first phase warms the provider up (the tiered JIT keeps compiling for minutes) until the sign-in rate is stable.
bench logins "$provider" caf-mobile - fr.caf.moncompte:/oauth2redirect 0 "$half" "$login_conc" "$server_pid" - "$raw/tokens-public" "$raw/logins-public.json" "sign-ins caf-mobile" "$warm_up" "$login_post_conc"
log "hashing limit of the provider process ($login_post_conc in parallel)"
bench hashing-limit "$provider" "$hashes" "$raw/hashing.json" >/dev/null
# BENCH_PERF=1: perf records the provider during the login POSTs of the measured phase only (enabled and disabled through its
# control FIFO by the bench around each batch's POSTs); the report goes to $raw/perf-login-post.txt.
perf_login=""
if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
  mkfifo "$run/perf-ctl" "$run/perf-ack"
  perf record -F 999 -g -D -1 --control "fifo:$run/perf-ctl,$run/perf-ack" -p "$server_pid" -o "$raw/perf-login-post.data" >"$run/logs/perf-login.log" 2>&1 &
  perf_login=$!
  sleep 1
fi
bench logins "$provider" bench-rp "$rp_secret" "$redirect" "$half" "$half" "$login_conc" "$server_pid" - "$raw/tokens-confidential" "$raw/logins.json" "sign-ins bench-rp" \
  0 "$login_post_conc" "${perf_login:+$run/perf-ctl,$run/perf-ack}"
if [ -n "$perf_login" ]; then
  kill -INT "$perf_login"; wait "$perf_login" || true
  { perf report -i "$raw/perf-login-post.data" --no-children --sort dso -q -g none 2>/dev/null | head -12 || true
    echo; perf report -i "$raw/perf-login-post.data" --no-children --sort sym -q -g none 2>/dev/null | head -60 || true
    echo; perf report -i "$raw/perf-login-post.data" --children --sort sym -q -g none 2>/dev/null | head -150 || true; } >"$raw/perf-login-post.txt"
fi

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
# Transactions the provider's database committed or rolled back (each statement outside a transaction is one): per
# request, the store round trips of a grant. Backends publish their counts within a second of going idle.
db_url() { admin_url | sed "s|/postgres\$|/$database|"; }
stats_wait=1.2; [ "$mode" = tiny ] && stats_wait=0 # the tiny run checks that figures exist, not their values
pg_transactions() { sleep "$stats_wait"; bench pg-transactions "$postgres"; }
# CPU time (clock ticks) of the provider process, and of the PostgreSQL processes as "pid ticks" lines (own servers only):
# per request of a run, what the provider and its database spent, which does not move with whatever else shares the
# machine as a rate does (the load generator, another job, an autovacuum). PostgreSQL's is summed over the processes
# alive at both readings (the pool's backends): a process that ended in between (an autovacuum worker) took its
# counters with it and would make the difference meaningless.
provider_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
pg_ticks() {
  [ "$own_servers" = 1 ] || return 0
  local postmaster p; postmaster="$(head -1 "$(cat "$run/servers/pg-dir")/data/postmaster.pid")"
  for p in "$postmaster" $(pgrep -P "$postmaster"); do awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done
}
ticks_between() { awk 'NR == FNR { before[$1] = $2; next } ($1 in before) { s += $2 - before[$1] } END { print s + 0 }' "$1" "$2"; }
# wrk_run SERIES URL CONNECTIONS [tokens file] [extra]: one run, its JSON in $raw/wrk-SERIES-cN.json.
wrk_run() {
  local series="$1" url="$2" c="$3" threads=$(( $3 < cores ? $3 : cores )) before after cpu0 cpu1
  before="$(pg_transactions)"
  cpu0="$(provider_ticks)"; pg_ticks >"$run/pg-ticks.before"
  BENCH_SERIES="$series" BENCH_CONNECTIONS="$c" BENCH_THREADS="$threads" BENCH_LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)" BENCH_OUT="$raw/wrk-$series-c$c.json" \
    wrk -t"$threads" -c"$c" -d"${seconds}s" --timeout 10s -s "$root/bench/wrk/token.lua" "$url" >>"$run/logs/wrk.log" 2>&1
  cpu1="$(provider_ticks)"; pg_ticks >"$run/pg-ticks.after"
  after="$(pg_transactions)"
  # Adds the transactions and CPU per request to the run's JSON and prints its line (the bench process: no start-up per run).
  bench wrk-result "$raw/wrk-$series-c$c.json" "$before" "$after" "$url" "$provider" "$((cpu1 - cpu0))" \
    "$([ "$own_servers" = 1 ] && ticks_between "$run/pg-ticks.before" "$run/pg-ticks.after" || echo -)" "$(getconf CLK_TCK)"
}
# take N lines from a token file (each run gets fresh ones: the rotated tokens stay inside wrk)
take() { head -n "$2" "$1" >"$1.run"; tail -n +"$(( $2 + 1 ))" "$1" >"$1.rest"; mv "$1.rest" "$1"; echo "$1.run"; }

# Warm-up (JIT, pools, caches) of both providers' token endpoints, each grant and client kind: not recorded. .NET's tiered
# JIT keeps recompiling hot methods for tens of seconds after they first run (perf showed its thread at ~20 % of the
# provider's CPU during a 10-s run that followed a 3-s warm-up), so each grant gets at least 20 s before it is measured.
warm="$raw/warm-up" && mkdir -p "$warm"
grant_warm_up=$(( seconds > 20 ? seconds : 20 )); [ "$mode" = tiny ] && grant_warm_up="$seconds"
warm_run() { # NAME URL, with BENCH_AUTH / BENCH_BODY / BENCH_TOKENS / BENCH_EXTRA in the environment
  BENCH_SERIES=warm-up BENCH_CONNECTIONS="$max_conn" BENCH_THREADS="$(( max_conn < cores ? max_conn : cores ))" BENCH_OUT="$warm/$1.json" BENCH_LOAD_BEFORE="$(load)" \
    wrk -t"$(( max_conn < cores ? max_conn : cores ))" -c"$max_conn" -d"${grant_warm_up}s" -s "$root/bench/wrk/token.lua" "$2" >/dev/null 2>&1 || true
}
# The tiny run (1 s each, nothing it measures is read for its value) runs the four side by side; the full run one after
# the other, each provider alone on the cores.
side_by_side=""; [ "$mode" = tiny ] && side_by_side=1
warm_tokens="$(take "$raw/tokens-confidential" "$max_conn")" warm_peer_tokens="$(take "$raw/peer-tokens.confidential" "$max_conn")" warming=()
warm_step() { if [ -n "$side_by_side" ]; then warming+=("$!"); else wait "$!"; fi; } # (a bare `wait` would wait for the servers too)
BENCH_AUTH="$(basic bench-service "$service_secret")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" warm_run cc "$provider/connect/token" & warm_step
BENCH_AUTH="$(basic bench-service "$PEER_SERVICE_SECRET")" BENCH_BODY="grant_type=client_credentials&scope=api" warm_run cc-peer "$peer/token" & warm_step
BENCH_AUTH="$(basic bench-rp "$rp_secret")" BENCH_TOKENS="$warm_tokens" BENCH_EXTRA="" warm_run refresh "$provider/connect/token" & warm_step
BENCH_AUTH="$(basic bench-rp "$PEER_RP_SECRET")" BENCH_TOKENS="$warm_peer_tokens" BENCH_EXTRA="" warm_run refresh-peer "$peer/token" & warm_step
[ ${#warming[@]} -eq 0 ] || wait "${warming[@]}"

log "client-credentials and refresh grants, ${seconds}s per run, connections: $connections"
for c in $connections; do
  BENCH_AUTH="$(basic bench-service "$service_secret")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" wrk_run cc-keyed "$provider/connect/token" "$c"
  BENCH_AUTH="$(basic systeme-prestations demo-secret-systeme-prestations-not-for-production)" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" wrk_run cc-pbkdf2 "$provider/connect/token" "$c"
  BENCH_AUTH="$(basic bench-service "$PEER_SERVICE_SECRET")" BENCH_BODY="grant_type=client_credentials&scope=api" wrk_run cc-peer "$peer/token" "$c"
  BENCH_AUTH="" BENCH_TOKENS="$(take "$raw/tokens-public" "$c")" BENCH_EXTRA="&client_id=caf-mobile" wrk_run refresh-public "$provider/connect/token" "$c"
  BENCH_AUTH="" BENCH_TOKENS="$(take "$raw/peer-tokens.public" "$c")" BENCH_EXTRA="&client_id=bench-public" wrk_run refresh-public-peer "$peer/token" "$c"
  BENCH_AUTH="$(basic bench-rp "$rp_secret")" BENCH_TOKENS="$(take "$raw/tokens-confidential" "$c")" BENCH_EXTRA="" wrk_run refresh-confidential "$provider/connect/token" "$c"
  BENCH_AUTH="$(basic bench-rp "$PEER_RP_SECRET")" BENCH_TOKENS="$(take "$raw/peer-tokens.confidential" "$c")" BENCH_EXTRA="" wrk_run refresh-confidential-peer "$peer/token" "$c"
done

# Profiles (BENCH_PERF=1), after the measured runs and not part of them: perf on the provider during one more
# client-credentials run (16 connections) and one more refresh run (caf-mobile, 8 connections); the reports go to $raw/perf-*.txt.
if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
  for series in cc-keyed refresh-public; do
    log "profile: $series"
    perf record -F 499 -g -p "$server_pid" -o "$raw/perf-$series.data" -- sleep "$seconds" >/dev/null 2>&1 &
    perf_pid=$!
    if [ "$series" = cc-keyed ]; then
      BENCH_AUTH="$(basic bench-service "$service_secret")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" wrk_run profile-cc "$provider/connect/token" 16
    else
      BENCH_AUTH="" BENCH_TOKENS="$(take "$raw/tokens-public" 8)" BENCH_EXTRA="&client_id=caf-mobile" wrk_run profile-refresh "$provider/connect/token" 8 || true
    fi
    wait "$perf_pid" || true
    # (perf writes more than head reads: its SIGPIPE is not a failure of the run)
    { perf report -i "$raw/perf-$series.data" --no-children --sort dso -q -g none 2>/dev/null | head -12 || true
      echo; perf report -i "$raw/perf-$series.data" --no-children --sort sym -q -g none 2>/dev/null | head -40 || true; } >"$raw/perf-$series.txt"
    rm -f "$raw/perf-$series.data"
  done
  mkdir -p "$raw/profiles" && mv "$raw"/wrk-profile-* "$raw/profiles/" 2>/dev/null || true
fi

# Memory and storage per session: $sessions more sign-ins (persons seeded first), RSS and database size before/after.
log "memory and storage per session: $sessions sign-ins"
[ "$sessions" -gt "$persons" ] && bench seed "$postgres" "$persons" $((sessions - persons))
store_persons=$(( sessions > persons ? sessions : persons ))
bench logins "$provider" bench-rp "$rp_secret" "$redirect" 0 "$sessions" "$login_conc" "$server_pid" "$postgres" "$raw/tokens-sessions" "$raw/sessions.json" "sessions" 0 "$login_post_conc"

# Scale: the store grows to $large persons (each with a file; the sessions above hold their tokens), then the same figures.
log "scale: the store grows from $store_persons to $large persons"
scale_c="$max_conn"
# Both sizes get the same short unrecorded warm-up of each grant: the large store's runs follow minutes of seeding during
# which the provider was idle (its pools pruned), the small store's follow the sign-ins.
scale_warm_up=$(( seconds < 5 ? seconds : 5 ))
scale_grants() { # small|large
  BENCH_AUTH="$(basic bench-service "$service_secret")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" BENCH_SERIES=warm-up BENCH_OUT="$warm/scale-$1-cc.json" \
    wrk -t"$cores" -c"$scale_c" -d"${scale_warm_up}s" -s "$root/bench/wrk/token.lua" "$provider/connect/token" >/dev/null 2>&1 || true
  BENCH_AUTH="$(basic bench-service "$service_secret")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" wrk_run "scale-$1-cc" "$provider/connect/token" "$scale_c"
  BENCH_AUTH="$(basic bench-rp "$rp_secret")" BENCH_TOKENS="$(take "$raw/tokens-sessions" "$scale_c")" BENCH_EXTRA="" BENCH_SERIES=warm-up BENCH_OUT="$warm/scale-$1-refresh.json" \
    wrk -t"$cores" -c"$scale_c" -d"${scale_warm_up}s" -s "$root/bench/wrk/token.lua" "$provider/connect/token" >/dev/null 2>&1 || true
  BENCH_AUTH="$(basic bench-rp "$rp_secret")" BENCH_TOKENS="$(take "$raw/tokens-sessions" "$scale_c")" BENCH_EXTRA="" wrk_run "scale-$1-refresh" "$provider/connect/token" "$scale_c"
}
scale_grants small
scale_logins=$(( sessions / 4 > 10 ? sessions / 4 : 10 )); [ "$scale_logins" -gt 1000 ] && scale_logins=1000
bench logins "$provider" bench-rp "$rp_secret" "$redirect" 0 "$scale_logins" "$login_conc" "$server_pid" - "$raw/tokens-scale-small" "$raw/scale-small-logins.json" "scale small" 0 "$login_post_conc"
seed_started="$EPOCHREALTIME"
[ "$large" -gt "$store_persons" ] && bench seed "$postgres" "$store_persons" $((large - store_persons)) "$large_tokens"
seed_seconds="$(awk -v a="$seed_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
large_tokens_stored="$(psql "$(db_url)" -tAc 'SELECT count(*) FROM "OpenIddictTokens"')"
log "large store: $large persons, $large_tokens_stored token rows, seeded in ${seed_seconds}s"
# After a bulk load, as after `cafconnect accounts import` (docs/import.md): VACUUM (ANALYZE), then no autovacuum
# left running. Without it the autovacuum the millions of inserted rows trigger may run during the measured seconds on
# 2 cores (it was at work on the token table until a second before the first one, 6 December): a figure of the
# maintenance, not of the store's size.
maintenance_started="$EPOCHREALTIME"
psql "$(db_url)" -qc 'VACUUM (ANALYZE)' && psql "$(db_url)" -qc 'CHECKPOINT' >/dev/null
for _ in $(seq 1 120); do
  [ "$(psql "$(db_url)" -tAc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && break
  sleep 1
done
maintenance_seconds="$(awk -v a="$maintenance_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
log "VACUUM (ANALYZE) and CHECKPOINT of the large store: ${maintenance_seconds}s"
scale_grants large
bench logins "$provider" bench-rp "$rp_secret" "$redirect" $((large - scale_logins)) "$scale_logins" "$login_conc" "$server_pid" - "$raw/tokens-scale-large" "$raw/scale-large-logins.json" "scale large" 0 "$login_post_conc"
bench scale "$raw" "$store_persons" "$large" "$large_tokens_stored" "$seed_seconds" "$maintenance_seconds"
# The scale runs are not points of the concurrency plots.
mkdir -p "$raw/scale" && mv "$raw"/wrk-scale-* "$raw/scale/"

load_after="$(load)"
python3 - "$raw/meta.json" <<PY
import json, platform, os, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
json.dump({
  "mode": "$mode", "started_utc": "$started", "finished_utc": __import__("datetime").datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "cores": $cores, "cpu": cpu, "memory_kib": int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))),
  "kernel": platform.release(), "dotnet": os.popen("dotnet --version").read().strip(), "node": os.popen("node --version").read().strip(),
  "postgresql": os.popen("ls /usr/lib/postgresql | sort -V | tail -1").read().strip(), "configuration": "$configuration",
  "load_before": "$load_before", "load_after": "$load_after",
  "parameters": {"persons": $persons, "sessions": $sessions, "large_persons": $large, "large_tokens": $large_tokens, "warm_up_seconds": $warm_up, "seconds_per_run": $seconds,
                 "connections": [int(c) for c in "$connections".split()], "sign_in_concurrency": $login_conc, "login_post_concurrency": $login_post_conc, "hashes": $hashes},
  "machine_note": "shared machine: other sessions' builds and tests ran at the same time; compare ratios of the same run",
}, open(sys.argv[1], "w"), indent=2)
PY
readme="$root/bench/README.md"; plots="$out_dir"
[ "$mode" = tiny ] && readme="-"
bench report "$raw" "$out_dir/latest.json" "$readme" "$plots"
# CPU seconds (user + system) of the run's own processes: where a slow run's time went, whatever the machine's load.
cpu_seconds() { awk '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / 100 }' "/proc/$1/stat" 2>/dev/null || echo "?"; }
log "done: $out_dir/latest.json (load average $load_before -> $load_after; CPU seconds: provider $(cpu_seconds "$provider_pid"), bench $(cpu_seconds "$bench_pid"), peer $(cpu_seconds "$peer_pid"))"

#!/bin/bash
# A/B of two provider builds on one PostgreSQL store, small then large (docs/decisions.md #58, bench/README.md "Time-ordered ids").
# Usage: A_DIR=<published provider> B_DIR=<published provider> [A_ENV="VAR=value …" B_ENV=… SMALL= LARGE= TOKENS= SECS= REPORT=1] bench/ab-large-store.sh
# (A_ENV/B_ENV: environment variables for that build only, e.g. a runtime setting compared on one build.)
# Publish each build with: dotnet publish src/CafConnect.IdP -c Release -o DIR. Build bench/CafConnect.Bench in Release first.
# Prints, per run: rate, p99, provider and PostgreSQL CPU per request, WAL and shared-buffer pages per request
# (pg_stat_statements, pg_stat_wal); the page counts do not depend on what else the machine runs, the rates do.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"; bench=$root/bench/CafConnect.Bench/bin/Release/net10.0
A_DIR="${A_DIR:?published provider A}"; B_DIR="${B_DIR:?published provider B}"; SMALL="${SMALL:-10000}"; LARGE="${LARGE:-1000000}"; TOKENS="${TOKENS:-5000000}"; SECS="${SECS:-8}"
pg_port=25598 redis_port=26598 port=18598
run="${RUN_DIR:-/tmp/cafconnect-ab}/run"; rm -rf $run; mkdir -p $run
export CAFCONNECT_TEST_RUN_DIR=$run/servers CAFCONNECT_TEST_PG_PORT=$pg_port CAFCONNECT_TEST_REDIS_PORT=$redis_port
$root/tools/test-servers.sh start >/dev/null
pgdir=$(cat $run/servers/pg-dir)
psql -h 127.0.0.1 -p $pg_port -U postgres -qc "ALTER SYSTEM SET shared_preload_libraries='pg_stat_statements'"
runuser -u postgres -- $(dirname $(readlink -f $(which pg_ctl)))/pg_ctl -D $pgdir/data -w restart >/dev/null
psql -h 127.0.0.1 -p $pg_port -U postgres -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
db="scale_$(date +%s)"
postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$db;Maximum Pool Size=100"
psqlc() { psql -h 127.0.0.1 -p $pg_port -U postgres -d $db -tAc "$1"; }
gen() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }
ss=$(gen) rs=$(gen); redirect=http://127.0.0.1:5000/demo/callback
ppid_=
start() {
(cd $1 && exec env ${2:-} ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS=http://127.0.0.1:$port \
  Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning \
  Storage__Provider=PostgreSql ConnectionStrings__CafConnect="$postgres" Redis__Configuration=127.0.0.1:$redis_port \
  Notifications__FileSink__Directory=$run/letters Bench__HashingEndpoint=true Throttling__IpMaxFailures=1000000 \
  Clients__6__ClientId=bench-service Clients__6__DisplayName="Bench service" Clients__6__Kind=Service \
  Clients__6__ClientSecret="$ss" Clients__6__Scopes__0=cafconnect.admin \
  Clients__7__ClientId=bench-rp Clients__7__DisplayName="Bench RP" Clients__7__Kind=Confidential \
  Clients__7__ClientSecret="$rs" Clients__7__RedirectUris__0="$redirect" \
  Clients__7__Scopes__0=profile Clients__7__Scopes__1=caf Clients__7__Scopes__2=offline_access \
  dotnet CafConnect.IdP.dll) >>$run/provider.log 2>&1 &
ppid_=$!
for _ in $(seq 1 300); do [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/health/ready)" = 200 ] && break; sleep 0.2; done
}
stop() { kill $ppid_; wait $ppid_ 2>/dev/null; }
trap 'kill $ppid_ 2>/dev/null; wait $ppid_ 2>/dev/null; $root/tools/test-servers.sh stop >/dev/null' EXIT
start $A_DIR "${A_ENV:-}"
dotnet $bench/CafConnect.Bench.dll seed "$postgres" 0 $SMALL >/dev/null
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pgcpu() { local pm; pm=$(head -1 "$(cat $run/servers/pg-dir)/data/postmaster.pid"); local s=0; for p in $pm $(pgrep -P $pm); do s=$((s + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $s; }
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
echo "$(date +%T) sessions: 3000 sign-ins"
dotnet $bench/CafConnect.Bench.dll logins http://127.0.0.1:$port bench-rp "$rs" $redirect 0 3000 4 $ppid_ - $run/tokens $run/sessions.json signins 0 2 | tail -1
onerun() { # name
  local name=$1 c0 g0 c1 g1
  psqlc CHECKPOINT; psql -h 127.0.0.1 -p $pg_port -U postgres -d postgres -qc "SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal')" >/dev/null
  c0=$(cpu $ppid_) g0=$(pgcpu)
  BENCH_SERIES=$name BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_OUT=$run/$name.json \
    wrk --latency -t2 -c64 -d${SECS}s --timeout 10s -s $root/bench/wrk/token.lua http://127.0.0.1:$port/connect/token > $run/$name.wrk 2>&1
  c1=$(cpu $ppid_) g1=$(pgcpu)
  sleep 1
  wal=$(psql -h 127.0.0.1 -p $pg_port -U postgres -d postgres -tAc "SELECT wal_records||' '||wal_fpi||' '||wal_bytes FROM pg_stat_wal")
  blk=$(psql -h 127.0.0.1 -p $pg_port -U postgres -d postgres -tAc "SELECT sum(shared_blks_hit)||' '||sum(shared_blks_read)||' '||sum(shared_blks_dirtied) FROM pg_stat_statements")
  python3 - "$run/$name.wrk" "$c0" "$c1" "$g0" "$g1" "$name" "$wal" "$blk" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import sys,re,time
txt=open(sys.argv[1]).read(); n=int(re.search(r'(\d+) requests in',txt).group(1)); secs=float(re.search(r'requests in ([\d.]+)s',txt).group(1))
p99=re.search(r'99%\s+([\d.]+)(\w+)',txt); lat=(float(p99.group(1))*(1000 if p99.group(2)=='s' else 0.001 if p99.group(2)=='us' else 1)) if p99 else float('nan')
c=(int(sys.argv[3])-int(sys.argv[2]))*10/n; g=(int(sys.argv[5])-int(sys.argv[4]))*10/n
w=[float(x) for x in sys.argv[7].split()]; b=[float(x) for x in sys.argv[8].split()]
print(f"{time.strftime('%H:%M:%S')} {sys.argv[6]}: {n/secs:,.0f} /s, p99 {lat:.1f} ms, provider {c:.3f} ms, PG {g:.3f} ms per req; WAL rec {w[0]/n:.1f} fpi {w[1]/n:.2f} bytes {w[2]/n:,.0f}; blocks hit {b[0]/n:.1f} read {b[1]/n:.2f} dirtied {b[2]/n:.2f} per req; load {sys.argv[9]}")
PY
}
cc() { BENCH_AUTH="$(basic bench-service "$ss")" BENCH_BODY="grant_type=client_credentials&scope=cafconnect.admin" onerun "$@"; }
rf() { head -n 64 $run/tokens > $run/tok.$1; sed -i "1,64d" $run/tokens; BENCH_AUTH="$(basic bench-rp "$rs")" BENCH_TOKENS=$run/tok.$1 BENCH_EXTRA="" onerun "$@"; }
# REPORT=1: the top statements after each run.
report() { psql -h 127.0.0.1 -p $pg_port -U postgres -d postgres -P pager=off -c "SELECT calls, round((total_exec_time/calls)::numeric*1000,1) AS us_per_call, round(shared_blks_hit::numeric/calls,1) AS hit, round(shared_blks_read::numeric/calls,2) AS read, round(shared_blks_dirtied::numeric/calls,2) AS dirtied, left(regexp_replace(query,'\s+',' ','g'),100) AS q FROM pg_stat_statements WHERE calls > 100 ORDER BY calls DESC, total_exec_time DESC LIMIT 10"; }
both() { # label
  for x in A B; do
    d=$A_DIR e="${A_ENV:-}"; [ $x = B ] && d=$B_DIR e="${B_ENV:-}"
    stop; start $d "$e"
    cc warm-cc-$x-$1 >/dev/null; rf warm-rf-$x-$1 >/dev/null
    cc cc-$x-$1; rf rf-$x-$1
    [ "${REPORT:-}" ] && report
  done
}
both small
echo "$(date +%T) seeding to $LARGE persons, $TOKENS tokens"
dotnet $bench/CafConnect.Bench.dll seed "$postgres" $SMALL $((LARGE - SMALL)) $TOKENS >/dev/null
echo "$(date +%T) seeded: $(psqlc 'select count(*) from "OpenIddictTokens"') tokens"
psqlc "VACUUM (ANALYZE)"; psqlc CHECKPOINT; echo "$(date +%T) vacuumed"
both large1
both large2
both large3
# The new rows' id prefixes: time-ordered ids share theirs.
psqlc "select left(\"Id\",8), count(*) from \"OpenIddictTokens\" where \"CreationDate\" > now() - interval '1 hour' group by 1 order by 2 desc limit 3"

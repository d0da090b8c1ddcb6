#!/usr/bin/env bash
# Fault drill (issue #15): three provider instances (Release) on one PostgreSQL and one Redis behind Debian's nginx
# (deploy/nginx.conf, with the drill's addresses and certificate), a steady sign-in load (bench/fault-drill/load.py),
# then: one instance killed with SIGKILL and restarted; Redis stopped for 30 s and started again. Everything listens on
# 127.0.0.1 only; the load is bounded in time and in requests; every process started here is stopped at the end.
# Writes bench/fault-drill/report.md (requests, errors by kind, p50/p99 per phase; another person's data: must be 0).
# Usage: bench/fault-drill.sh            (about 3 min of set-up + DRILL_SECONDS of load; not in CI: too long)
# Ports: CAFCONNECT_TEST_PG_PORT / CAFCONNECT_TEST_REDIS_PORT (as test.sh, which must not run at the same time),
# DRILL_BASE_PORT (instances +1..+3, nginx +10; default 18070). Timeline: DRILL_SECONDS (140), kill at 30 s, restart
# at 50 s, Redis stopped at 80 s and started at 110 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="$root/.drill-run"
pg_port="${CAFCONNECT_TEST_PG_PORT:-55432}"
redis_port="${CAFCONNECT_TEST_REDIS_PORT:-56379}"
base="${DRILL_BASE_PORT:-18070}"
nginx_port=$((base + 10))
seconds="${DRILL_SECONDS:-140}"
report="$root/bench/fault-drill/report.md"
log() { printf '[drill %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

command -v nginx >/dev/null || { log "installing nginx (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
command -v redis-server >/dev/null && ls -d /usr/lib/postgresql/*/bin >/dev/null || { log "run ./test.sh once first (installs PostgreSQL and Redis)"; exit 2; }

declare -A pids=()
cleanup() {
  set +e
  for i in "${!pids[@]}"; do kill "${pids[$i]}" 2>/dev/null; done
  [ -f "$run/nginx/nginx.pid" ] && nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -s stop 2>/dev/null
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
  [ -d "$run/pg/data" ] && as_pg "$(pg_bin)/pg_ctl" -D "$run/pg/data" -m fast stop >/dev/null 2>&1
  wait 2>/dev/null
}
trap cleanup EXIT

rm -rf "$run" && mkdir -p "$run/pg" "$run/redis" "$run/certs" "$run/nginx" "$run/letters" "$run/logs"
log "publishing the provider (Release)"
dotnet publish "$root/src/CafConnect.IdP" -c Release -o "$run/idp" --nologo -v q >"$run/logs/publish.log" 2>&1 || { cat "$run/logs/publish.log"; exit 2; }

log "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$run/pg"
as_pg "$(pg_bin)/initdb" -D "$run/pg/data" -U postgres -A trust >/dev/null
as_pg "$(pg_bin)/pg_ctl" -D "$run/pg/data" -l "$run/pg/server.log" -w -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $run/pg" start >/dev/null
start_redis() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$run/redis" --pidfile "$run/redis/redis.pid" --logfile "$run/redis/redis.log" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
start_redis

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$run/certs/tls.key" -out "$run/certs/tls.crt" -days 2 -subj "/CN=127.0.0.1" 2>/dev/null
openssl pkcs12 -export -inkey "$run/certs/tls.key" -in "$run/certs/tls.crt" -out "$run/certs/keyring.pfx" -passout pass:drill-keyring
chmod -R a+rX "$run/certs"

start_instance() {
  local i="$1" port=$((base + $1)) migrate=false
  [ "$i" = 1 ] && migrate=true
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
    Storage__Provider=PostgreSql Storage__MigrateOnStartup="$migrate" \
    ConnectionStrings__CafConnect="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=cafconnect_drill" \
    Redis__Configuration="127.0.0.1:$redis_port,abortConnect=false,connectTimeout=2000,syncTimeout=2000" \
    Oidc__Issuer="https://127.0.0.1:$nginx_port/" ReverseProxy__TrustedProxies__0=127.0.0.1 \
    DataProtection__Certificate__Path="$run/certs/keyring.pfx" DataProtection__Certificate__Password=drill-keyring \
    Health__DetailNetworks__0=127.0.0.0/8 Demo__Enabled=true Notifications__FileSink__Directory="$run/letters" \
    Clients__0__ClientId=drill Clients__0__DisplayName="Fault drill" Clients__0__Kind=Confidential \
    Clients__0__ClientSecret=drill-secret-not-for-production-0123456789 Clients__0__RedirectUris__0=https://rp.drill.test/callback \
    Clients__0__Scopes__0=profile Clients__0__Scopes__1=caf Clients__0__Scopes__2=offline_access \
    dotnet "$run/idp/CafConnect.IdP.dll" >>"$run/logs/idp-$i.log" 2>&1 &
  pids[$i]=$!
}
wait_ready() {
  local port=$((base + $1))
  for _ in $(seq 1 180); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] && return 0
    sleep 1
  done
  log "instance $1 not ready"; tail -20 "$run/logs/idp-$1.log" >&2; return 1
}
log "three instances on 127.0.0.1:$((base + 1))..$((base + 3))"
start_instance 1; wait_ready 1
start_instance 2; start_instance 3; wait_ready 2; wait_ready 3

# deploy/nginx.conf, with the drill's upstreams, listen address and certificate.
sed -e "s|upstream cafconnect { server idp-1:8080; server idp-2:8080; }|upstream cafconnect { server 127.0.0.1:$((base + 1)); server 127.0.0.1:$((base + 2)); server 127.0.0.1:$((base + 3)); }|" \
    -e "s|listen 443 ssl;|listen 127.0.0.1:$nginx_port ssl;|" -e "s|/etc/nginx/certs|$run/certs|g" \
    "$root/deploy/nginx.conf" >"$run/nginx/site.conf"
grep -q "127.0.0.1:$((base + 3))" "$run/nginx/site.conf" || { log "deploy/nginx.conf changed shape: update the substitutions"; exit 2; }
cat >"$run/nginx/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
pid $run/nginx/nginx.pid;
error_log $run/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $run/nginx/access.log;
  client_body_temp_path $run/nginx/body; proxy_temp_path $run/nginx/proxy; fastcgi_temp_path $run/nginx/fastcgi;
  uwsgi_temp_path $run/nginx/uwsgi; scgi_temp_path $run/nginx/scgi;
  include $run/nginx/site.conf;
}
CONF
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -t 2>"$run/nginx/test.log" || { cat "$run/nginx/test.log"; exit 2; }
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf"
log "nginx on https://127.0.0.1:$nginx_port/ (deploy/nginx.conf); load for ${seconds}s"

events="$run/events.txt"; : >"$events"
DRILL_NGINX_PORT=$nginx_port DRILL_SECONDS=$seconds DRILL_CSV="$run/requests.csv" python3 "$root/bench/fault-drill/load.py" >"$run/summary.json" &
load_pid=$!
started=$(date +%s.%N)
at() { local target; target=$(echo "$started + $1" | bc); while [ "$(echo "$(date +%s.%N) < $target" | bc)" = 1 ]; do sleep 0.2; done; }
at 30;  echo "$(date +%s.%N) instance 2 killed (SIGKILL)" >>"$events"; kill -9 "${pids[2]}"; log "instance 2 killed"
at 50;  echo "$(date +%s.%N) instance 2 restarted" >>"$events"; start_instance 2; log "instance 2 restarting"
at 80;  echo "$(date +%s.%N) Redis stopped" >>"$events"; redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; log "Redis stopped"
at 110; echo "$(date +%s.%N) Redis started" >>"$events"; start_redis; log "Redis started"
wait "$load_pid"
ready=""
for i in 1 2 3; do ready="$ready instance $i: $(curl -s "http://127.0.0.1:$((base + i))/health/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo unreachable);"; done

{
  echo "# Fault drill report"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/fault-drill.sh\`: 3 instances (Release) behind nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), PostgreSQL $(as_pg "$(pg_bin)/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(nproc) cores shared with other work (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "Load: $(python3 -c 'import os; print(os.environ.get("DRILL_WORKERS", "6"))') workers in a loop of sign-in rounds (authorize, login page, login POST, authorize, token, userinfo, refresh, userinfo) as 4 demo persons. Phases start at the faults."
  echo
} >"$report"
python3 "$root/bench/fault-drill/report.py" "$run/requests.csv" "$events" "$(cat "$run/summary.json")" "$report"
echo "- readiness after the drill:$ready" >>"$report"
echo "- instance 2's restart: $(grep -c 'Now listening' "$run/logs/idp-2.log" || true) start(s) logged" >>"$report"
cat "$report"

#!/usr/bin/env bash
# Fault drill (issue #15): three provider instances (Release) on one PostgreSQL and Redis behind Debian's nginx
# (deploy/nginx.conf, with the drill's addresses and certificate), Redis as a primary, a replica and a Sentinel (Debian's
# redis-sentinel; the instances know only the Sentinel and the service name), a stand-in SMTP relay and SMS gateway
# (bench/fault-drill/sinks.py), a steady sign-in load (bench/fault-drill/load.py) and, during the gateways' outage,
# password recoveries that send an SMS and an e-mail. Faults, in order: one instance killed with SIGKILL and restarted;
# Redis (primary and replica) stopped 30 s; the Redis primary killed (Sentinel promotes the replica); PostgreSQL
# restarted (pg_ctl restart -m fast); `cafconnect keys rotate` (new keys published at once, signing 20 s later);
# the SMTP and SMS gateways down for a minute. Everything listens on 127.0.0.1 only; the load is bounded in time and in
# requests; every process started here is stopped at the end.
# Writes bench/fault-drill/report.md (requests, errors by kind, p50/p99 per phase; another person's data: must be 0;
# keys; messages queued during the outage and delivered once).
# Usage: bench/fault-drill.sh [--ci]     (full: about 3 min of set-up + DRILL_SECONDS of load; --ci: the short mode below)
# Ports: CAFCONNECT_TEST_PG_PORT / CAFCONNECT_TEST_REDIS_PORT (primary; replica +1, Sentinel +2: not test.sh's own),
# DRILL_BASE_PORT (instances +1..+3, nginx +10, SMTP +20, SMS +21; default 18070: keep every port below the ephemeral
# range, 32768 and up, or a stand-in restarted after its outage may find its port taken by an outgoing connection). Timeline (s from the load's start):
# DRILL_SECONDS (350); instance 2 killed 25, restarted 40; Redis down 65–95; primary killed 115 (old primary back as a
# replica at 150); PostgreSQL restarted 150; keys rotated from 160 (the CLI's start-up; sign 20 s later); gateways down
# 230–290 (password recoveries 230–285).
# Short mode (--ci or DRILL_CI=1; the CI test tests/CafConnect.IdP.Tests/Operations/FaultDrillTests.cs): every fault
# phase, each a few seconds long (load 150 s), on the Debug build test.sh has just made (no Release publish: the
# drill checks the behaviour under faults, which the build configuration does not change, and the publish costs
# minutes on a shared machine), the run directory DRILL_RUN_DIR and the report and its JSON in DRILL_OUT_DIR.
# Timeline in short mode: instance 2 killed 12, restarted 18; Redis down 26–36; primary killed 44; PostgreSQL restarted
# 56; keys rotated from 60 (sign 8 s later); gateways down 100–120 (password recoveries 100–114).
# Always writes results.json next to the report (the CI test's assertions: 500s, another person's data, outbox
# delivery, tokens refused after the rotation, completed rounds per phase).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ci="${DRILL_CI:-0}"; [ "${1:-}" = --ci ] && ci=1
run="${DRILL_RUN_DIR:-$root/.drill-run}"
pg_port="${CAFCONNECT_TEST_PG_PORT:-15432}"
redis_port="${CAFCONNECT_TEST_REDIS_PORT:-16379}"
base="${DRILL_BASE_PORT:-18070}"
nginx_port=$((base + 10))
seconds="${DRILL_SECONDS:-350}"
replica_port=$((redis_port + 1)); sentinel_port=$((redis_port + 2))
smtp_port=$((base + 20)); sms_port=$((base + 21))
publication_delay=20
# The timeline (s from the load's start): full by default, short in CI.
t_kill=25 t_restart=40 t_redis_down=65 t_redis_up=95 t_primary_kill=115 t_pg=150 t_rotate=160 t_gw_down=230 t_gw_up=290 t_msg_to=285
if [ "$ci" = 1 ]; then
  seconds="${DRILL_SECONDS:-150}"; publication_delay=8
  t_kill=12 t_restart=18 t_redis_down=26 t_redis_up=36 t_primary_kill=44 t_pg=56 t_rotate=60 t_gw_down=100 t_gw_up=120 t_msg_to=114
fi
out_dir="${DRILL_OUT_DIR:-$root/bench/fault-drill}"; mkdir -p "$out_dir"
report="$out_dir/report.md"; results="$out_dir/results.json"
log() { printf '[drill %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

command -v nginx >/dev/null || { log "installing nginx (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
command -v redis-server >/dev/null && ls -d /usr/lib/postgresql/*/bin >/dev/null || { log "run ./test.sh once first (installs PostgreSQL and Redis)"; exit 2; }
command -v redis-sentinel >/dev/null && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null \
  || { log "installing redis-sentinel and python3-aiosmtpd (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-sentinel python3-aiosmtpd >/dev/null; }

declare -A pids=() sinks=()
cleanup() {
  set +e
  for i in "${!pids[@]}"; do kill "${pids[$i]}" 2>/dev/null; done
  for i in "${!sinks[@]}"; do kill "${sinks[$i]}" 2>/dev/null; done
  [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null
  [ -f "$run/nginx/nginx.pid" ] && nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -s stop 2>/dev/null
  for port in "$sentinel_port" "$replica_port" "$redis_port"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1; done
  [ -d "$run/pg/data" ] && as_pg "$(pg_bin)/pg_ctl" -D "$run/pg/data" -m fast stop >/dev/null 2>&1
  wait 2>/dev/null
  # Short mode: the links to the Debug build go first, so that removing the run directory never reaches the build.
  for link in "$run/idp" "$run/cli"; do [ -L "$link" ] && rm -f "$link"; done
  return 0
}
trap cleanup EXIT
trap 'log "stopped by a failed command at line $LINENO: $BASH_COMMAND"' ERR

# DRILL_REUSE_BUILD=1 keeps the previous run's Release build (the drill's phases being worked on, not the code).
if [ "$ci" = 1 ]; then
  rm -rf "$run" && mkdir -p "$run/pg" "$run/redis" "$run/certs" "$run/nginx" "$run/letters" "$run/logs"
  ln -s "$root/src/CafConnect.IdP/bin/Debug/net10.0" "$run/idp"; ln -s "$root/src/CafConnect.Cli/bin/Debug/net10.0" "$run/cli"
  [ -f "$run/idp/CafConnect.IdP.dll" ] && [ -f "$run/cli/cafconnect.dll" ] || { log "short mode: build the solution first (Debug; test.sh does)"; exit 2; }
  log "short mode: the Debug build (src/*/bin/Debug), load ${seconds}s"
elif [ "${DRILL_REUSE_BUILD:-0}" = 1 ] && [ -f "$run/idp/CafConnect.IdP.dll" ] && [ -f "$run/cli/cafconnect.dll" ]; then
  find "$run" -mindepth 1 -maxdepth 1 ! -name idp ! -name cli -exec rm -rf {} +
  mkdir -p "$run/pg" "$run/redis" "$run/certs" "$run/nginx" "$run/letters" "$run/logs"
  log "reusing the previous Release build (DRILL_REUSE_BUILD=1)"
else
  rm -rf "$run" && mkdir -p "$run/pg" "$run/redis" "$run/certs" "$run/nginx" "$run/letters" "$run/logs"
  log "publishing the provider and the CLI (Release)"
  dotnet publish "$root/src/CafConnect.IdP" -c Release -o "$run/idp" --nologo -v q >"$run/logs/publish.log" 2>&1 || { cat "$run/logs/publish.log"; exit 2; }
  dotnet publish "$root/src/CafConnect.Cli" -c Release -o "$run/cli" --nologo -v q >"$run/logs/publish-cli.log" 2>&1 || { cat "$run/logs/publish-cli.log"; exit 2; }
fi

log "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$run/pg"
as_pg "$(pg_bin)/initdb" -D "$run/pg/data" -U postgres -A trust >/dev/null
as_pg "$(pg_bin)/pg_ctl" -D "$run/pg/data" -l "$run/pg/server.log" -w -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $run/pg" start >/dev/null
# Redis: a primary, a replica and one Sentinel watching them under the service name "cafconnect".
start_redis_node() { # port [replicaof-port]
  mkdir -p "$run/redis/$1"
  redis-server --port "$1" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$run/redis/$1" --pidfile "$run/redis/$1/redis.pid" --logfile "$run/redis/$1/redis.log" \
    ${2:+--replicaof 127.0.0.1 $2} >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
primary_port() { redis-cli -p "$sentinel_port" sentinel get-master-addr-by-name cafconnect 2>/dev/null | sed -n 2p || true; }
start_redis_node "$redis_port"
start_redis_node "$replica_port" "$redis_port"
cat >"$run/redis/sentinel.conf" <<CONF
port $sentinel_port
bind 127.0.0.1
daemonize yes
pidfile $run/redis/sentinel.pid
logfile $run/redis/sentinel.log
dir $run/redis
sentinel monitor cafconnect 127.0.0.1 $redis_port 1
sentinel down-after-milliseconds cafconnect 2000
sentinel failover-timeout cafconnect 10000
CONF
redis-sentinel "$run/redis/sentinel.conf"
for _ in $(seq 1 50); do [ -n "$(primary_port)" ] && break; sleep 0.1; done
log "Redis primary $redis_port, replica $replica_port, Sentinel $sentinel_port (service cafconnect)"

# The gateways' stand-ins (Debian's python3, which has python3-aiosmtpd).
declare -A sinks=()
start_sink() {
  /usr/bin/python3 "$root/bench/fault-drill/sinks.py" "$1" "$2" "$run/received.txt" >>"$run/logs/sink-$1.log" 2>&1 & sinks[$1]=$!
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.1; done
  log "the $1 stand-in did not start (see logs/sink-$1.log)"
}
stop_sink() { kill "${sinks[$1]}" 2>/dev/null; wait "${sinks[$1]}" 2>/dev/null || true; }
: >"$run/received.txt"
start_sink smtp "$smtp_port"; start_sink sms "$sms_port"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$run/certs/tls.key" -out "$run/certs/tls.crt" -days 2 -subj "/CN=127.0.0.1" 2>/dev/null
openssl pkcs12 -export -inkey "$run/certs/tls.key" -in "$run/certs/tls.crt" -out "$run/certs/keyring.pfx" -passout pass:drill-keyring
chmod -R a+rX "$run/certs"

cli() {
  env ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production Storage__Provider=PostgreSql \
    ConnectionStrings__CafConnect="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=cafconnect_drill" \
    DataProtection__Certificate__Path="$run/certs/keyring.pfx" DataProtection__Certificate__Password=drill-keyring \
    Keys__PublicationDelay=00:00:$publication_delay dotnet "$run/cli/cafconnect.dll" "$@"
}
content_root=""; [ "$ci" = 1 ] && content_root="$root/src/CafConnect.IdP"
start_instance() {
  local i="$1" port=$((base + $1)) migrate=false
  [ "$i" = 1 ] && migrate=true
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
    Storage__Provider=PostgreSql Storage__MigrateOnStartup="$migrate" \
    ConnectionStrings__CafConnect="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=cafconnect_drill" \
    Redis__Configuration="127.0.0.1:$sentinel_port,serviceName=cafconnect,abortConnect=false,connectTimeout=2000,syncTimeout=2000" \
    Notifications__Smtp__Host=127.0.0.1 Notifications__Smtp__Port=$smtp_port Notifications__Smtp__Security=None \
    Notifications__Sms__Url="http://127.0.0.1:$sms_port/sms" Notifications__Sms__Token=drill-sms-token \
    Notifications__RetryBaseDelay=00:00:02 Notifications__RetryMaxDelay=00:00:10 Keys__RefreshInterval=00:00:05 \
    Verification__MinIntervalBetweenSends=00:00:01 \
    Oidc__Issuer="https://127.0.0.1:$nginx_port/" ReverseProxy__TrustedProxies__0=127.0.0.1 \
    DataProtection__Certificate__Path="$run/certs/keyring.pfx" DataProtection__Certificate__Password=drill-keyring \
    Health__DetailNetworks__0=127.0.0.0/8 Health__OutboxFailingMessagesThreshold=1 Demo__Enabled=true Notifications__FileSink__Directory="$run/letters" \
    Clients__0__ClientId=drill Clients__0__DisplayName="Fault drill" Clients__0__Kind=Confidential \
    Clients__0__ClientSecret=drill-secret-not-for-production-0123456789 Clients__0__RedirectUris__0=https://rp.drill.test/callback \
    Clients__0__Scopes__0=profile Clients__0__Scopes__1=caf Clients__0__Scopes__2=offline_access Clients__0__Scopes__3=phone \
    ${content_root:+ASPNETCORE_CONTENTROOT=$content_root} dotnet "$run/idp/CafConnect.IdP.dll" >>"$run/logs/idp-$i.log" 2>&1 &
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
# Persons for the first-login journeys: one file each (allocataire alone, a mobile on record, the file's old 8-digit
# code), imported with `cafconnect accounts import` once instance 1 has migrated the store, while 2 and 3 start. A
# person does their first login once: enough for the load's first-login workers over the whole run.
first_login_persons="${DRILL_FIRST_LOGIN_PERSONS:-$([ "$ci" = 1 ] && echo 150 || echo 300)}"
python3 - "$first_login_persons" "$run/first-logins.csv" "$run/first-logins.json" <<'PY'
import csv, json, random, sys
count, csv_path, json_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(15)
letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
persons = []
with open(csv_path, "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["file_number", "role", "nir", "provisional_id", "civility", "birth_name", "usage_name", "given_names", "birth_date",
                  "birth_country", "birth_city", "postal_code", "mobile", "email", "legacy_secret", "legacy_secret_format"])
    for i in range(count):
        # Born in May 1984 in the Nord (59), communes 350 and up: NIRs no demo person has.
        nir = f"1840559{350 + i // 999:03d}{i % 999 + 1:03d}"  # order 001–999 (000 is no NIR)
        name = "BASCULE" + "".join(letters[(i // 26 ** k) % 26] for k in range(3))
        mobile = f"06 17 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}"
        code = "".join(rng.choice("0123456789") for _ in range(8))
        while len(set(code)) < 4:  # nothing like 11111111 or 12121212
            code = "".join(rng.choice("0123456789") for _ in range(8))
        out.writerow([f"77{i:05d}", "allocataire", nir, "", "M", name, "", "Drill", "1984-05-10", "FRANCE", "LILLE", "59000",
                      mobile, "", code, "plain"])
        persons.append({"nir": nir, "code": code, "mobile": mobile, "name": name})
json.dump(persons, open(json_path, "w"))
PY
log "three instances on 127.0.0.1:$((base + 1))..$((base + 3))"
start_instance 1; wait_ready 1
log "importing $first_login_persons persons for the first-login journeys (cafconnect accounts import)"
cli accounts import "$run/first-logins.csv" >"$run/logs/import.log" 2>&1 & import_pid=$!
start_instance 2; start_instance 3; wait_ready 2; wait_ready 3
wait "$import_pid" || { log "the import of the first-login persons failed"; tail -20 "$run/logs/import.log" >&2; exit 2; }
log "import: $(grep -o 'rows imported=[0-9]*' "$run/logs/import.log" || tail -1 "$run/logs/import.log")"

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

# The load's end may move later (set_load_end: an epoch, never earlier than DRILL_SECONDS): until the gateways' outage
# has begun and its end is known, the load holds on for up to 120 s past DRILL_SECONDS, so that a fault pushed late by
# a slow machine (the rotation's CLI) still has load after it. Written atomically: the load reads it in its loops.
set_load_end() { echo "$1" >"$run/load-deadline.tmp" && mv "$run/load-deadline.tmp" "$run/load-deadline"; }
set_load_end "$(echo "$(date +%s.%N) + $seconds + 120" | bc)"
events="$run/events.txt"; : >"$events"
DRILL_DEADLINE_FILE="$run/load-deadline" DRILL_FIRST_LOGINS="$run/first-logins.json" DRILL_SMS_INBOX="http://127.0.0.1:$sms_port/inbox" \
  DRILL_NGINX_PORT=$nginx_port DRILL_SECONDS=$seconds DRILL_CSV="$run/requests.csv" DRILL_MESSAGES_FROM=$t_gw_down DRILL_MESSAGES_TO=$t_msg_to \
  python3 "$root/bench/fault-drill/load.py" >"$run/summary.json" &
load_pid=$!
started=$(date +%s.%N)
at() { local target; target=$(echo "$started + $1" | bc); while [ "$(echo "$(date +%s.%N) < $target" | bc)" = 1 ]; do sleep 0.2; done; }
event() { echo "$(date +%s.%N) $*" >>"$events"; log "$*"; }
# Straight to an instance, as nginx would forward it (the instances trust 127.0.0.1 and accept only https requests).
jwks_kids() { curl -s -H "X-Forwarded-Proto: https" "http://127.0.0.1:$((base + $1))/.well-known/jwks" | python3 -c 'import json,sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))' 2>/dev/null || echo "unreachable"; }
at $t_kill;  event "instance 2 killed (SIGKILL)"; kill -9 "${pids[2]}"
at $t_restart;  event "instance 2 restarted"; start_instance 2
at $t_redis_down;  event "Redis stopped (primary and replica)"; redis-cli -p "$replica_port" shutdown nosave >/dev/null 2>&1 || true; redis-cli -p "$(primary_port)" shutdown nosave >/dev/null 2>&1 || true
at $t_redis_up;  event "Redis started"; start_redis_node "$redis_port"; start_redis_node "$replica_port" "$redis_port"
at $t_primary_kill; old_primary="$(primary_port)"; event "Redis primary ($old_primary) killed (SIGKILL): Sentinel failover"
kill -9 "$(cat "$run/redis/$old_primary/redis.pid")" 2>/dev/null || true
for _ in $(seq 1 150); do [ "$(primary_port)" != "$old_primary" ] && break; sleep 0.2; done
failover="primary $old_primary → $(primary_port) after $(echo "$(date +%s.%N) - $started - $t_primary_kill" | bc | cut -c1-4) s"; log "Sentinel: $failover"
at $t_pg; event "PostgreSQL restarted (pg_ctl restart -m fast)"
start_redis_node "$old_primary" "$(primary_port)" || true # the old primary comes back as a replica of the new one
as_pg "$(pg_bin)/pg_ctl" -D "$run/pg/data" -l "$run/pg/server.log" -w -m fast -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $run/pg" restart >/dev/null
# The CLI starts slowly on a loaded machine (~30 s): it runs in the background, and the rotation's moment is when it
# has committed (its "New sig key" line); then the new key must appear in every instance's JWKS within their reload.
at $t_rotate; kids_before="$(jwks_kids 1)"; log "keys rotate starting (cafconnect keys rotate, Keys:PublicationDelay ${publication_delay} s)"
timeout 120 bash -c "$(declare -f cli); $(declare -p run pg_port publication_delay); cli keys rotate" >"$run/logs/keys-rotate.log" 2>&1 &
rotate_pid=$!
for _ in $(seq 1 450); do grep -q "New sig key" "$run/logs/keys-rotate.log" 2>/dev/null && break; sleep 0.2; done
rotated_at=$(date +%s.%N); echo "$rotated_at keys rotated (new keys published, old ones sign ${publication_delay} s more)" >>"$events"; log "keys rotated"
published=""
for _ in $(seq 1 60); do
  all=1; for i in 1 2 3; do [ "$(jwks_kids "$i" | wc -w)" -gt "$(echo "$kids_before" | wc -w)" ] || all=0; done
  [ "$all" = 1 ] && { published="$(echo "$(date +%s.%N) - $rotated_at" | bc | cut -c1-4)"; break; }; sleep 0.5
done
log "new signing key published by the 3 instances after ${published:-?} s"
echo "$(echo "$rotated_at + $publication_delay" | bc) new keys sign (publication delay over)" >>"$events"
# Readiness as the load balancer's probe and the person on call see it while the gateways are down: instance 1's
# /health/ready every second, one line each: time, HTTP status, JSON detail (read by results.py; curl only, as cheap
# as a probe on a loaded machine).
sample_readiness() { # until (epoch)
  while [ "$(echo "$(date +%s.%N) < $1" | bc)" = 1 ]; do
    local at code; at=$(date +%s.%N)
    code=$(curl -s -m 5 -o "$run/ready-sample.json" -w '%{http_code}' "http://127.0.0.1:$((base + 1))/health/ready" || true)
    printf '%s\t%s\t%s\n' "$at" "$code" "$(tr -d '\n' <"$run/ready-sample.json" 2>/dev/null)" >>"$run/readiness-outage.tsv"
    sleep 1
  done
}
: >"$run/readiness-outage.tsv"
at $t_gw_down; event "SMTP and SMS gateways down"; stop_sink smtp; stop_sink sms

# The outage lasts its nominal length from when it began: on a loaded machine the rotation's CLI may have pushed it late.
gw_down_at=$(echo "$(date +%s.%N) - $started" | bc); t_gw_up=$(echo "if ($gw_down_at + $t_gw_up - $t_gw_down > $t_gw_up) $gw_down_at + $t_gw_up - $t_gw_down else $t_gw_up" | bc)
set_load_end "$(echo "$started + $t_gw_up + 15" | bc)" # at least 15 s of load after the gateways are back
sample_readiness "$(echo "$started + $t_gw_up" | bc)" & sampler_pid=$!
at $t_gw_up; event "SMTP and SMS gateways back"; start_sink smtp "$smtp_port"; start_sink sms "$sms_port"
wait "$sampler_pid" 2>/dev/null || true
wait "$rotate_pid" 2>/dev/null || log "keys rotate: the CLI did not exit within 120 s (see logs/keys-rotate.log)"
wait "$load_pid"
psql_drill() { "$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d cafconnect_drill -At -c "$1"; }
# The outbox retries with a backoff of at most 10 s: give the messages queued during the outage that long to leave.
for _ in $(seq 1 40); do [ "$(psql_drill 'SELECT count(*) FROM "OutboxMessages" WHERE "SentAt" IS NULL AND "FailedAt" IS NULL' 2>/dev/null)" = 0 ] && break; sleep 1; done
ready=""
for i in 1 2 3; do ready="$ready instance $i: $(curl -s "http://127.0.0.1:$((base + i))/health/ready" | python3 -c 'import json,sys; r=json.load(sys.stdin); bad=[k for k, c in r["checks"].items() if c["status"] != "Healthy"]; print(r["status"] + (" (" + ", ".join(bad) + ")" if bad else ""))' 2>/dev/null || echo unreachable);"; done
sort -n -o "$events" "$events"
outbox="$(psql_drill 'SELECT count(*), count("SentAt"), count("FailedAt"), count(*) FILTER (WHERE "SentAt" IS NULL AND "FailedAt" IS NULL) FROM "OutboxMessages"' 2>/dev/null || echo "-1|-1|-1|-1")"
python3 "$root/bench/fault-drill/results.py" "$run/requests.csv" "$events" "$run/summary.json" "$run/received.txt" "$outbox" "$ready" "$run/readiness-outage.tsv" >"$results"

{
  echo "# Fault drill report"
  echo
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) by \`bench/fault-drill.sh\`: 3 instances ($([ "$ci" = 1 ] && echo "Debug, short mode --ci" || echo Release)) behind nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), PostgreSQL $(as_pg "$(pg_bin)/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(nproc) cores shared with other work (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "Load: $(python3 -c 'import os; print(os.environ.get("DRILL_WORKERS", "6"))') workers in a loop of sign-in rounds (authorize, login page, login POST, authorize, token, userinfo, refresh, userinfo) as 4 demo persons; $(python3 -c 'import os; print(os.environ.get("DRILL_FIRST_LOGIN_WORKERS", "2"))') workers doing first logins with the file's old code (login, terms, new password, mobile on record, SMS code, back to the relying party, userinfo) as $first_login_persons imported persons, each once. Phases start at the faults."
  echo
} >"$report"
python3 "$root/bench/fault-drill/report.py" "$run/requests.csv" "$events" "$(cat "$run/summary.json")" "$report" "$results"
{
  echo "- readiness after the drill:$ready"
  echo "- instance 2's restart: $(grep -c 'Now listening' "$run/logs/idp-2.log" || true) start(s) logged"
  echo "- Redis through Sentinel: $failover; log lines of the instances naming a Redis failure: $(cat "$run"/logs/idp-*.log | grep -ci 'redis' || true)"
  echo "- error log entries by exception (instances' logs; the 503s above included, outbox send failures too): $(cat "$run"/logs/idp-*.log | grep '"LogLevel":"Error"' | grep -o '"Exception":"[A-Za-z0-9_.]*' | sort | uniq -c | tr -s ' ' | tr '\n' ';' || true)"
  echo "- keys: signing kids published before the rotation: $kids_before; after: $(jwks_kids 1) (instance 1), $(jwks_kids 2) (2), $(jwks_kids 3) (3); new key published by all 3 instances $published s after the rotation; ID tokens seen per kid (first–last second): $(python3 -c 'import json,sys; print(", ".join(f"{k}: {v[0]}–{v[1]}" for k, v in json.load(sys.stdin)["kids"].items()))' <"$run/summary.json"); reloads logged: $(cat "$run"/logs/idp-*.log | grep -c 'Token keys reloaded' || true)"
  echo "- gateways: recoveries started during the outage: $(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["recoveries"], "completed,", s["recoveries_failed"], "failed")' <"$run/summary.json"); outbox rows (channel: created / sent / given up / still waiting / max seconds from creation to sending): $(psql_drill "SELECT string_agg(c || ': ' || n || ' / ' || s || ' / ' || f || ' / ' || w || ' / ' || coalesce(d, '-'), '; ') FROM (SELECT \"Channel\"::text c, count(*) n, count(\"SentAt\") s, count(\"FailedAt\") f, count(*) FILTER (WHERE \"SentAt\" IS NULL AND \"FailedAt\" IS NULL) w, round(max(extract(epoch FROM \"SentAt\" - \"CreatedAt\")))::text d FROM \"OutboxMessages\" GROUP BY 1) x" 2>&1)"
  echo "- gateways: messages received by the stand-ins: $(grep -c . "$run/received.txt" || true) ($(awk '{print $2}' "$run/received.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';')), received more than once: $(awk '{print $2, $3}' "$run/received.txt" | sort | uniq -d | wc -l), first one at $(awk 'NR==1{print $1}' "$run/received.txt" | xargs -I{} echo "{} - $started" | bc | cut -c1-5) s"
} >>"$report"
cat "$report"
log "results: $results"

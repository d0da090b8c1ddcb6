-- wrk script of bench/run.sh: POSTs to a token endpoint and writes the run's figures as JSON (BENCH_OUT).
-- Environment: BENCH_AUTH (an Authorization header value, or empty), BENCH_BODY (the form body of a client-credentials
-- request), or BENCH_TOKENS (a file of refresh tokens, one a line, with BENCH_EXTRA appended to each body, e.g.
-- "&client_id=caf-mobile"): each thread takes its share of the tokens, sends one, and puts back the rotated token the
-- answer carries — a refresh token is good for one use on both providers. BENCH_THREADS: wrk's -t. BENCH_SERIES, BENCH_CONNECTIONS, BENCH_LOAD_BEFORE: copied to the output.
local auth = os.getenv("BENCH_AUTH") or ""
local static_body = os.getenv("BENCH_BODY")
local tokens_file = os.getenv("BENCH_TOKENS")
local extra = os.getenv("BENCH_EXTRA") or ""
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

local pool = {}
local lost = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  if auth ~= "" then wrk.headers["Authorization"] = auth end
  if tokens_file then
    local n = 0
    for line in io.lines(tokens_file) do
      if line ~= "" then
        if n % thread_count == index then table.insert(pool, line) end
        n = n + 1
      end
    end
  else
    wrk.body = static_body
  end
end

-- wrk calls request() once on thread 0 before any connection, to check the request (script_verify_request): that
-- call must not spend a token.
local verified = false

function request()
  if not tokens_file then return wrk.format() end
  if index == 0 and not verified then
    verified = true
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=verify")
  end
  local token = table.remove(pool, 1)
  if token == nil then token = "exhausted" end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token .. extra)
end

function response(status, headers, body)
  if tokens_file then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then table.insert(pool, token) else lost = lost + 1 end
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  local ok = summary.requests - errors
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format('{"series":"%s","connections":%d,"requests":%d,"errors":%d,"status_errors":%d,"seconds":%.3f,"per_second":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"load_before":"%s","load_after":"%s"}\n',
    os.getenv("BENCH_SERIES"), tonumber(os.getenv("BENCH_CONNECTIONS")), summary.requests, errors, summary.errors.status, seconds, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    os.getenv("BENCH_LOAD_BEFORE"), io.open("/proc/loadavg"):read("*l"):match("^(%S+ %S+ %S+)")))
  out:close()
end

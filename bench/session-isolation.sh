#!/usr/bin/env bash
# Session isolation under load, longer than the CI run: the same test (tests/CafConnect.IdP.Tests/Security/
# SessionIsolationTests.cs, PostgreSQL + Redis, two Kestrel instances) with more persons and rounds, in Release.
# Prints requests, mismatches, requests/s and p50/p95 latency per endpoint (the "[session isolation, PostgreSql]" block).
# Usage: bench/session-isolation.sh [persons=2000] [rounds=5] [requests in flight=64]
# Each round of a person is 10 requests. test.sh starts (and stops) a private PostgreSQL and Redis:
# set CAFCONNECT_TEST_PG_PORT / CAFCONNECT_TEST_REDIS_PORT to keep off ports in use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CAFCONNECT_ISOLATION_PERSONS="${1:-2000}"
export CAFCONNECT_ISOLATION_ROUNDS="${2:-5}"
export CAFCONNECT_ISOLATION_CONCURRENCY="${3:-64}"
exec "$root/test.sh" -c Release --filter "FullyQualifiedName~SessionIsolationTests&FullyQualifiedName~PostgreSql" \
  --logger "console;verbosity=normal"

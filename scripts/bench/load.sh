#!/usr/bin/env bash
# Load benchmark: wrk against each endpoint of the local stack on 127.0.0.1.
# Prints throughput and p50/p99 latency per endpoint. Bounded: DURATION seconds per
# endpoint (default 10) with CONNECTIONS connections (default 32).
# Usage: scripts/bench/load.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --quiet --release -p trainer
data="$(mktemp -d)"
out="$(mktemp)"
"$CARGO_TARGET_DIR/release/trainer" local --data-dir "$data" --port 0 --no-scheduler >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q "Press Ctrl-C" "$out" && break; sleep 0.1; done
url="$(awk '/API URL:/ {print $3}' "$out")"
key="$(awk '$1 == "student01" {print $2}' "$out")"
[ -n "$url" ] && [ -n "$key" ] || { cat "$out"; echo "stack did not start" >&2; exit 1; }
lua="$(mktemp -d)"
cat >"$lua/list.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"studentId":"student01"}'
wrk.headers["x-api-key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$lua/get.lua" <<LUA
wrk.headers["x-api-key"] = "$key"
LUA
cat >"$lua/upload.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"subjectName":"operating-systems","testId":"test01","studentId":"student01","testResult":[{"questionId":"1","answer":"a"},{"questionId":"2","answer":"b"}]}'
wrk.headers["x-api-key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
LUA
printf '%-32s %12s %10s %10s %8s\n' endpoint "req/s" "p50" "p99" "non-2xx"
run() { # name path script
  local report
  report="$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$lua/$3" "$url$2")"
  local rps p50 p99 errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$report")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$report")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$report")"
  errors="$(awk '/Non-2xx/ {print $5}' <<<"$report")"
  printf '%-32s %12s %10s %10s %8s\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}
run "POST /api/v1/tests" "/api/v1/tests" list.lua
run "GET /api/v1/test" "/api/v1/test?subjectName=operating-systems&testId=test01" get.lua
run "POST /api/v1/test" "/api/v1/test" upload.lua
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t2 -c$connections -d${duration}s per endpoint"

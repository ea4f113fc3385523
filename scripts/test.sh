#!/usr/bin/env bash
# Runs every test of the project: lints, unit and integration tests (moto server on
# 127.0.0.1 stands in for S3, SES, CloudFormation and API Gateway), then each check
# in scripts/checks/ in order. Installs what it needs (Python tools in .venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "python tools (venv)"
venv="$(scripts/setup-venv.sh)"
export EWORK_VENV="$venv"
export PATH="$venv/bin:$PATH"

step "moto server on 127.0.0.1"
moto_port="${EWORK_MOTO_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
moto_log="$(mktemp)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$moto_port/moto-api/" >/dev/null || { cat "$moto_log"; echo "moto did not start" >&2; exit 1; }
export EWORK_MOTO_URL="http://127.0.0.1:$moto_port"
# Fake credentials: moto accepts any; nothing here may reach real AWS.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=eu-central-1 AWS_DEFAULT_REGION=eu-central-1
unset AWS_PROFILE

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace --no-fail-fast

for check in scripts/checks/*.sh; do
  [ -e "$check" ] || continue
  step "$check"
  bash "$check"
done

echo
echo "all tests passed"

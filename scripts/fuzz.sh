#!/usr/bin/env bash
# Fuzzes the API request handling for a bounded time (default 60 s). Not part of CI
# (it needs the nightly toolchain and cargo-fuzz, and takes minutes).
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
rustup toolchain list | grep -q nightly || { echo "needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }
cd fuzz
# The seeds in corpus/ are committed; what the fuzzer adds goes to a scratch copy.
work="$(mktemp -d)"
cp corpus/api_request/* "$work/"
cargo +nightly fuzz run api_request "$work" -- -max_total_time="$seconds" -rss_limit_mb=2048

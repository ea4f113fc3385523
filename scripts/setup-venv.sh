#!/usr/bin/env bash
# Creates (or reuses) the project's Python venv with every tool the tests need.
# Usage: scripts/setup-venv.sh   (prints the venv path)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${EWORK_VENV:-$root/.venv}"
req="$root/scripts/requirements-test.txt"
stamp="$venv/.ework-requirements"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv"

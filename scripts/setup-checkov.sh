#!/usr/bin/env bash
# Creates (or reuses) the venv that holds checkov (scripts/requirements-checkov.txt), next
# to the project's venv: $EWORK_VENV/opt/checkov (default .venv/opt/checkov).
# checkov pins boto3 and other libraries to versions that conflict with the test tools'
# (scripts/requirements-test.txt), so it cannot share their venv.
# Usage: scripts/setup-checkov.sh   (prints the venv path)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${EWORK_VENV:-$root/.venv}/opt/checkov"
req="$root/scripts/requirements-checkov.txt"
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

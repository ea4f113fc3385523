#!/usr/bin/env bash
# Deletes the stacks; keeps the buckets unless given -e confirm_delete_data=true.
# Same name as the original script; runs playbooks/remove.yml with the project's Python tools.
# Usage: playbooks/remove-api-gateway.sh [-e setting=value ...]   (settings: playbooks/group_vars/all.yml)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# ansible, boto3 and the amazon.aws collection come from the project's venv.
if [ -x "${EWORK_VENV:-$here/../.venv}/bin/ansible-playbook" ]; then
  export PATH="${EWORK_VENV:-$here/../.venv}/bin:$PATH"
elif ! command -v ansible-playbook >/dev/null 2>&1; then
  venv="$("$here/../scripts/setup-venv.sh")"
  export PATH="$venv/bin:$PATH"
fi
exec ansible-playbook remove.yml "$@"

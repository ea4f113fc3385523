#!/usr/bin/env bash
# Validates the course folder and publishes what changed to the deployed stack.
# Same name as the original script; runs playbooks/update-subjects-or-students.yml with the project's Python tools.
# Usage: playbooks/update-subjects-or-students.sh [-e setting=value ...]   (settings: playbooks/group_vars/all.yml)
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
exec ansible-playbook update-subjects-or-students.yml "$@"

#!/usr/bin/env bash
# Ansible playbooks: ansible-lint with the production profile (offline: the amazon.aws
# collection comes with the `ansible` wheel, Galaxy is never contacted) and
# ansible-playbook --syntax-check on each playbook.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/playbooks"

playbooks=(deploy.yml update-subjects-or-students.yml remove.yml)
for p in "${playbooks[@]}"; do
  ansible-playbook --syntax-check "$p"
done
ansible-lint --offline --profile production --strict "${playbooks[@]}" group_vars/all.yml
for s in *.sh; do bash -n "$s"; done
echo "ansible: ${#playbooks[@]} playbooks pass syntax check and ansible-lint (production profile)"

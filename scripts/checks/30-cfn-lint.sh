#!/usr/bin/env bash
# CloudFormation templates: cfn-lint must report nothing (no error, warning or info), then
# the structural tests (cloudformation/tests) check what moto cannot: API keys on every
# method, the weekly schedule, least-privilege roles, bucket encryption and policies.
# Disabled rule (in api.yaml's Metadata, with the reason): W6001, because the api stack
# re-outputs the imported bucket name on purpose (trainer --stack reads one stack).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

templates=(cloudformation/*.yaml)
echo "cfn-lint ${templates[*]}"
cfn-lint --format parseable -- "${templates[@]}"
echo "cfn-lint: no findings in ${#templates[@]} templates"

python -m pytest -q -p no:cacheprovider cloudformation/tests

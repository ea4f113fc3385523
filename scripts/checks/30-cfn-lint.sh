#!/usr/bin/env bash
# CloudFormation templates, three ways:
# 1. cfn-lint with the informational rules included (--include-checks I; note that
#    cfn-lint's `-i` is --ignore-checks) must report nothing. Disabled rule (in api.yaml's
#    Metadata, with the reason): W6001, the api stack re-outputs the imported bucket name
#    on purpose (trainer --stack reads one stack).
# 2. checkov (pinned, scripts/requirements-checkov.txt, in a venv of its own) must report
#    no failed check: each check a template skips is skipped in that resource's Metadata
#    with the reason, and cloudformation/tests asserts every skip has one.
# 3. The structural tests (cloudformation/tests) check what moto cannot: API keys, the
#    schedule and heartbeat, alarms, least-privilege roles, bucket policies, releases.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

templates=(cloudformation/*.yaml)
echo "cfn-lint --include-checks I ${templates[*]}"
cfn-lint --include-checks I --format parseable -- "${templates[@]}"
echo "cfn-lint: no findings (errors, warnings or informational) in ${#templates[@]} templates"

checkov_venv="$(scripts/setup-checkov.sh)"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# --skip-download: no policy metadata from the network; BC_SKIP_MAPPING: no API mapping.
if ! BC_SKIP_MAPPING=TRUE "$checkov_venv/bin/checkov" --skip-download --compact \
    --framework cloudformation -d cloudformation --skip-path cloudformation/tests >"$report" 2>&1; then
  grep -E 'Check:|FAILED|Passed checks|Error' "$report" || cat "$report"
  echo "checkov: failed checks above; fix them, or skip one in the resource's Metadata (checkov: skip: id, comment) with the reason" >&2
  exit 1
fi
echo "checkov $("$checkov_venv/bin/checkov" --version): $(grep -m1 'Passed checks' "$report")"

python -m pytest -q -p no:cacheprovider cloudformation/tests

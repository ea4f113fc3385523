#!/usr/bin/env bash
# IAM is tested, not assumed: every function's real code runs under exactly the policy its
# CloudFormation role grants (rendered for this account, region and bucket), against a moto
# server of its own with IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT). The API and scorer
# Lambda binaries run through the Lambda Runtime API (cargo lambda watch + invoke); the
# trainer's commands run under the api stack's TrainerPolicy (+ the scorer stack's
# TrainerScorePolicy). Each flow must finish without one refused request, and calls each
# policy must refuse are confirmed as IAM denials. See scripts/iam/iam_check.py for the
# flows and scripts/iam/moto_iam.py for what moto cannot evaluate and how it is covered.
#
# To see it bite: drop s3:ListBucketVersions (or any action) from a role in
# cloudformation/*.yaml and run this script; the flow that needs it fails.
# Options are passed on: --only <flow name part>, --keep (keep logs and decisions).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="${EWORK_VENV:-$root/.venv}"
[ -x "$venv/bin/python" ] && export PATH="$venv/bin:$PATH"

cargo build --quiet -p list-tests -p get-test -p upload-answers -p scorer -p trainer
python3 scripts/iam/iam_check.py --target-dir "$CARGO_TARGET_DIR" "$@"

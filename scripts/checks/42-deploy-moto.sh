#!/usr/bin/env bash
# Runs the deploy playbook end to end against the moto server (EWORK_MOTO_URL), then the
# course update playbook, `trainer config`, a second deploy (update path) and remove.yml.
# Asserts what moto really creates: both buckets (with default encryption), the uploaded
# zips and templates, the three stacks and their outputs, the four functions wired to the
# course bucket, the REST API's methods with API keys required. What moto skips (usage
# plan, stage, schedule, alarms, bucket policies, versioning, public access block) is
# covered by cloudformation/tests.
#
# Zips: deploys what 41-package-lambdas.sh built and checked in the same run (no rebuild);
# run alone, the playbook builds them itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
: "${EWORK_MOTO_URL:?EWORK_MOTO_URL is not set: run this through scripts/test.sh (it starts moto)}"
case "$EWORK_MOTO_URL" in
  http://127.0.0.1:*) ;;
  *) echo "EWORK_MOTO_URL must point at 127.0.0.1, got $EWORK_MOTO_URL" >&2; exit 1 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export AWS_REGION="${AWS_REGION:-eu-central-1}" AWS_DEFAULT_REGION="${AWS_REGION:-eu-central-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"

arch_file="$CARGO_TARGET_DIR/lambda-dist/checked-architecture"
arch="$(cat "$arch_file" 2>/dev/null || echo "${EWORK_LAMBDA_ARCH:-x86_64}")"
dist="$CARGO_TARGET_DIR/lambda-dist/$arch"
prefix="ci$(date +%s)$$"   # unique per run
work="$(mktemp -d)"

# A moto of its own: the Lambda functions deployed here keep their code as S3 objects
# that moto's /moto-api/data.json cannot serialise ("FakeKey is not JSON serializable"),
# which would break every later check that reads sent mail from the shared server.
moto_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
export EWORK_MOTO_URL="http://127.0.0.1:$moto_port"

# 41-package-lambdas.sh runs first in scripts/test.sh and leaves this marker only after
# building and checking the zips, so the playbook's build step can be skipped.
build_lambdas=true
[ -f "$arch_file" ] && [ -f "$dist/manifest.json" ] && build_lambdas=false

playbook() {
  (cd playbooks && ansible-playbook "$@" -e build_lambdas="$build_lambdas" \
    -e aws_endpoint_url="$EWORK_MOTO_URL" -e aws_region="$AWS_REGION" -e stack_prefix="$prefix" \
    -e lambda_architecture="$arch" -e lambda_dist_dir="$dist" \
    -e sender_email=trainer@example.com -e trainer_email=trainer@example.com)
}

echo "== deploy.yml ($arch zips, stacks $prefix-*)"
playbook deploy.yml | tee "$work/deploy.log"

echo "== checking what moto holds"
python - "$EWORK_MOTO_URL" "$prefix" "$dist/manifest.json" <<'EOF'
import json, sys
import boto3

url, prefix, manifest_path = sys.argv[1:]
manifest = json.load(open(manifest_path))
aws = lambda service: boto3.client(service, endpoint_url=url)
cf, s3, lam, apigw = aws("cloudformation"), aws("s3"), aws("lambda"), aws("apigateway")

def stack(name):
    s = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert s["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), (name, s["StackStatus"])
    return {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}

storage, api, scorer = stack(f"{prefix}-storage"), stack(f"{prefix}-api"), stack(f"{prefix}-scorer")
bucket, artifacts = storage["BucketName"], storage["ArtifactsBucketName"]

# Buckets, with default encryption (moto ignores versioning and public access blocks).
for b in (bucket, artifacts):
    rules = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", (b, rules)

# Uploads: every zip under its checksum key, byte for byte, and the templates.
for name, entry in manifest["functions"].items():
    body = s3.get_object(Bucket=artifacts, Key=entry["key"])["Body"].read()
    assert body == open(entry["zip"], "rb").read(), f"{entry['key']} differs from {entry['zip']}"
for t in ("storage.yaml", "api.yaml", "scorer.yaml"):
    s3.head_object(Bucket=artifacts, Key=f"templates/{t}")

# Outputs the trainer's --stack reads, all on the api stack.
assert api["BucketName"] == bucket, (api["BucketName"], bucket)
api_id = api["ApiId"]
expected_url = f"https://{api_id}.execute-api.eu-central-1.amazonaws.com/api"
assert api["ApiUrl"] == expected_url, (api["ApiUrl"], expected_url)

# Functions: right runtime, code from the checksum key, wired to the course bucket.
names = {"list-tests": api["ListTestsFunctionName"], "get-test": api["GetTestFunctionName"],
         "upload-answers": api["UploadAnswersFunctionName"], "scorer": scorer["ScorerFunctionName"]}
for fn, name in names.items():
    conf = lam.get_function_configuration(FunctionName=name)
    assert conf["Runtime"] == "provided.al2023" and conf["Handler"] == "bootstrap", conf
    env = conf["Environment"]["Variables"]
    assert env["EWORK_BUCKET"] == bucket and env["EWORK_TIME_ZONE"] == "Europe/Warsaw", (name, env)
    assert "EWORK_KMS_KEY_ID" not in env, (name, env)
scorer_env = lam.get_function_configuration(FunctionName=names["scorer"])["Environment"]["Variables"]
assert scorer_env["EWORK_SENDER"] == "trainer@example.com", scorer_env

# REST API: exactly the three routes, each needing an API key, each proxying to its function.
routes = {}
for res in apigw.get_resources(restApiId=api_id)["items"]:
    for method in res.get("resourceMethods") or {}:
        m = apigw.get_method(restApiId=api_id, resourceId=res["id"], httpMethod=method)
        routes[(res["path"], method)] = m
assert set(routes) == {("/api/v1/tests", "POST"), ("/api/v1/test", "GET"), ("/api/v1/test", "POST")}, set(routes)
for route, fn in {("/api/v1/tests", "POST"): "list-tests", ("/api/v1/test", "GET"): "get-test",
                  ("/api/v1/test", "POST"): "upload-answers"}.items():
    m = routes[route]
    assert m["apiKeyRequired"] is True, route
    assert m["methodIntegration"]["type"] == "AWS_PROXY", route
    assert f":function:{names[fn]}/invocations" in m["methodIntegration"]["uri"], (route, m["methodIntegration"]["uri"])
print(f"moto holds: buckets {bucket} and {artifacts}, 4 zips + 3 templates, 3 stacks, "
      f"4 functions, REST API {api_id} with 3 key-protected routes")
EOF

echo "== update-subjects-or-students.yml and trainer config"
skipped=()
trainer="${EWORK_TRAINER_BIN:-}"
if [ -z "$trainer" ]; then
  cargo build --quiet --bin trainer
  trainer="$CARGO_TARGET_DIR/debug/trainer"
fi
trainer_help="$("$trainer" --help)"
if grep -qE '^\s+sync\s' <<<"$trainer_help"; then
  playbook update-subjects-or-students.yml -e course_dir="$root/course-sample" \
    -e "{\"trainer_command\": [\"$trainer\"]}" | tee "$work/update.log"
  grep -qE "changed=1 .*failed=0" "$work/update.log"
  # Publishing the same folder again changes nothing, and the playbook says so.
  playbook update-subjects-or-students.yml -e course_dir="$root/course-sample" \
    -e "{\"trainer_command\": [\"$trainer\"]}" >"$work/update2.log" || { cat "$work/update2.log"; exit 1; }
  grep -qE "changed=0 .*failed=0" "$work/update2.log" \
    || { cat "$work/update2.log"; echo "second update-subjects-or-students.yml run was not a no-op" >&2; exit 1; }
  python - "$EWORK_MOTO_URL" "$prefix" <<'EOF'
import sys
import boto3
url, prefix = sys.argv[1:]
cf, s3 = (boto3.client(s, endpoint_url=url) for s in ("cloudformation", "s3"))
outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=f"{prefix}-api")["Stacks"][0]["Outputs"]}
bucket = outputs["BucketName"]
keys = set()
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    keys |= {o["Key"] for o in page.get("Contents", [])}
for key in ["studentsList.json", "_system/catalog.json", "operating-systems/test01/questions.json",
            "operating-systems/test01/questionsKey.json"]:
    assert key in keys, f"{key} not published to {bucket}; have {sorted(keys)}"
print(f"the sample course is published to {bucket} ({len(keys)} objects)")
EOF
else
  echo "SKIPPED: update-subjects-or-students.yml - \`trainer --help\` does not list \`sync\` yet"
  skipped+=("update-subjects-or-students.yml")
fi
if grep -qE '^\s+config\s' <<<"$trainer_help"; then
  config="$(AWS_ENDPOINT_URL="$EWORK_MOTO_URL" "$trainer" config --stack "$prefix-api")"
  echo "$config"
  read -r api_url bucket < <(python - "$EWORK_MOTO_URL" "$prefix" <<'EOF'
import sys
import boto3
url, prefix = sys.argv[1:]
cf = boto3.client("cloudformation", endpoint_url=url)
out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=f"{prefix}-api")["Stacks"][0]["Outputs"]}
print(out["ApiUrl"], out["BucketName"])
EOF
)
  [ -n "${bucket:-}" ] || { echo "could not read the api stack's outputs" >&2; exit 1; }
  grep -qF "$api_url" <<<"$config" || { echo "trainer config did not print the API URL $api_url" >&2; exit 1; }
  grep -qF "$bucket" <<<"$config" || { echo "trainer config did not print the bucket $bucket" >&2; exit 1; }
else
  echo "SKIPPED: trainer config - \`trainer --help\` does not list \`config\` yet"
  skipped+=("trainer config")
fi

echo "== deploy.yml again (update path, nothing rebuilt)"
playbook deploy.yml >"$work/redeploy.log" || { cat "$work/redeploy.log"; exit 1; }
grep -q "failed=0" "$work/redeploy.log"

echo "== remove.yml (buckets kept), then with confirm_delete_data=true"
playbook remove.yml | tee "$work/remove.log"
grep -q "Kept the buckets $prefix-storage-coursebucket" "$work/remove.log"
# Stacks gone, both buckets still there (DeletionPolicy: Retain); their names for the purge.
read -r course_bucket artifacts_bucket < <(python - "$EWORK_MOTO_URL" "$prefix" <<'EOF'
import sys
import boto3
url, prefix = sys.argv[1:]
cf, s3 = (boto3.client(s, endpoint_url=url) for s in ("cloudformation", "s3"))
live = [s["StackName"] for s in cf.list_stacks()["StackSummaries"]
        if s["StackName"].startswith(prefix + "-") and s["StackStatus"] != "DELETE_COMPLETE"]
assert not live, f"stacks left: {live}"
kept = sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix + "-"))
course = [b for b in kept if "-coursebucket-" in b]
artifacts = [b for b in kept if "-artifactsbucket-" in b]
assert len(kept) == 2 and len(course) == 1 and len(artifacts) == 1, f"expected the two retained buckets, found {kept}"
print(course[0], artifacts[0])
EOF
)
[ -n "${artifacts_bucket:-}" ] || { echo "retained buckets not found" >&2; exit 1; }
playbook remove.yml -e confirm_delete_data=true -e course_bucket_name="$course_bucket" \
  -e artifacts_bucket_name="$artifacts_bucket" >"$work/purge.log" || { cat "$work/purge.log"; exit 1; }
python - "$EWORK_MOTO_URL" "$prefix" <<'EOF'
import sys
import boto3
url, prefix = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=url)
left = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix + "-")]
assert not left, f"buckets left after confirm_delete_data=true: {left}"
EOF
if [ ${#skipped[@]} -gt 0 ]; then
  echo "deploy, redeploy and remove ran against moto; SKIPPED (trainer lacks the subcommand): ${skipped[*]}"
else
  echo "deploy, update-subjects-or-students, trainer config, redeploy and remove all ran against moto"
fi

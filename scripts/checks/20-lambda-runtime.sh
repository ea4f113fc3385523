#!/usr/bin/env bash
# Runs each API Lambda binary through the Lambda Runtime API (cargo lambda watch +
# cargo lambda invoke) with API Gateway REST proxy events from functions/*/events/,
# backed by moto S3 on 127.0.0.1.
set -euo pipefail
: "${EWORK_MOTO_URL:?run through scripts/test.sh}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bucket="ework-lambda-runtime-$$"
python3 scripts/lambda/seed_moto.py "$bucket"

cargo build --quiet -p list-tests -p get-test -p upload-answers
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
cargo lambda watch --quiet --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-var "EWORK_BUCKET=$bucket" --env-var "AWS_ENDPOINT_URL=$EWORK_MOTO_URL" \
  --env-var "AWS_ACCESS_KEY_ID=testing" --env-var "AWS_SECRET_ACCESS_KEY=testing" \
  --env-var "AWS_REGION=eu-central-1" --env-var "EWORK_TIME_ZONE=Europe/Warsaw" >"$log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true; pkill -P $watch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

out="$(mktemp)"
invoke() { # function event-file expected-status needles...
  local fn="$1" event="$2" status="$3"; shift 3
  echo "invoke $fn with $event"
  if ! cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$port" \
      --data-file "$event" --output-format json >"$out" 2>&1; then
    cat "$out"; cat "$log"; exit 1
  fi
  python3 scripts/lambda/check_response.py "$out" "$status" "$@"
}

invoke list-tests functions/list-tests/events/list-tests.json 200 '"test01"' '"submitted": false'
invoke list-tests functions/list-tests/events/list-tests-as-other-student.json 403 "belongs to student01"
invoke get-test functions/get-test/events/get-test.json 200 "What is a kernel?" --absent questionsKey --absent '"answer"'
invoke get-test functions/get-test/events/get-test-without-key.json 401 "missing API key"
invoke upload-answers functions/upload-answers/events/upload-answers.json 200 "Successfully uploaded test result" '"replaced": false'
invoke upload-answers functions/upload-answers/events/upload-unknown-answer.json 422 "not an option"
invoke list-tests functions/list-tests/events/list-tests.json 200 '"submitted": true'

# The upload really landed in the bucket, encrypted, with the answers lower-cased and
# the receipt the student was given in the same object.
python3 - "$bucket" <<'PY'
import json, os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["EWORK_MOTO_URL"], region_name="eu-central-1")
obj = s3.get_object(Bucket=sys.argv[1], Key="operating-systems/test01/student01/testResult.json")
assert obj["ServerSideEncryption"] == "AES256", obj["ServerSideEncryption"]
stored = json.loads(obj["Body"].read())
assert stored["testResult"] == [{"questionId": "1", "answer": "b"}, {"questionId": "2", "answer": "a"}], stored
receipt = stored["receipt"]
assert receipt["studentId"] == "student01" and receipt["replaced"] is False, receipt
print("ok: submission stored with its receipt, SSE AES256")
PY
echo "lambda runtime checks passed"

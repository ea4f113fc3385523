#!/usr/bin/env bash
# Runs the scorer Lambda binary through the Lambda Runtime API (cargo lambda watch +
# cargo lambda invoke) with the Scheduler's event, backed by moto S3 and SES v2:
# a closed test is graded, every student and the trainer get one email, and a
# second invocation (a duplicate schedule event) sends nothing.
set -euo pipefail
: "${EWORK_MOTO_URL:?run through scripts/test.sh}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bucket="ework-scorer-lambda-$$"
domain="scorer-lambda-$$.example.com"

python3 - "$bucket" "$domain" <<'PY'
import json, os, sys, boto3
bucket, domain = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=os.environ["EWORK_MOTO_URL"], region_name="eu-central-1")
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
put = lambda key, value: s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode())
put("studentsList.json", [{"student_id": f"student0{i}", "email": f"student0{i}@{domain}"} for i in (1, 2, 3, 4)])
# Closed on Monday 2026-11-16 23:00 Warsaw, long before any real "now".
put("_system/catalog.json", {"tests": [{"subject": "operating-systems", "testId": "test01", "title": "Kernels",
    "publishedAt": "2026-11-10T08:00:00Z", "dueAt": "2026-11-16T22:00:00Z"}]})
put("operating-systems/test01/questions.json", [
    {"questionId": "1", "question": "What is a kernel?", "answers": [{"answerId": "a", "answerBody": "The core"}, {"answerId": "b", "answerBody": "A seed"}]},
    {"questionId": "2", "question": "What is a process?", "answers": [{"answerId": "a", "answerBody": "A running program"}, {"answerId": "b", "answerBody": "A file"}]}])
put("operating-systems/test01/questionsKey.json", [{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "a"}])
put("operating-systems/test01/student01/testResult.json", [{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "a"}])
put("operating-systems/test01/student02/testResult.json", [{"questionId": "1", "answer": "b"}, {"questionId": "2", "answer": "a"}])
put("operating-systems/test01/student03/testResult.json", [{"questionId": "1", "answer": "b"}])
boto3.client("sesv2", **kw).create_email_identity(EmailIdentity=f"scorer@{domain}")
PY

cargo build --quiet -p scorer
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
cargo lambda watch --quiet --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-var "EWORK_BUCKET=$bucket" --env-var "AWS_ENDPOINT_URL=$EWORK_MOTO_URL" \
  --env-var "AWS_ACCESS_KEY_ID=testing" --env-var "AWS_SECRET_ACCESS_KEY=testing" \
  --env-var "AWS_REGION=eu-central-1" --env-var "EWORK_TIME_ZONE=Europe/Warsaw" \
  --env-var "EWORK_SENDER=Ework Scorer <scorer@$domain>" --env-var "EWORK_TRAINER_EMAIL=trainer@$domain" \
  --env-var "EWORK_SEND_RATE=50" >"$log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null || true; pkill -P $watch_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

out="$(mktemp)"
invoke() { # event-file
  echo "invoke scorer with $1"
  if ! cargo lambda invoke scorer --invoke-address 127.0.0.1 --invoke-port "$port" \
      --data-file "$1" --output-format json >"$out" 2>&1; then
    cat "$out"; cat "$log"; exit 1
  fi
}

invoke functions/scorer/events/schedule.json
python3 - "$out" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["complete"] is True, summary
assert len(summary["scored"]) == 3 and len(summary["sent"]) == 3, summary
assert summary["report"]["subject"] == "[Ework] Scores report: operating-systems/test01", summary["report"]
PY
invoke functions/scorer/events/manual-rerun.json
python3 - "$out" "$bucket" "$domain" <<'PY'
import email, email.policy, json, os, sys, urllib.request, boto3
summary, bucket, domain = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert summary["scored"] == [] and summary["sent"] == [] and summary["report"] is None, summary
data = json.load(urllib.request.urlopen(os.environ["EWORK_MOTO_URL"] + "/moto-api/data.json"))
mine = [m for m in data["ses"]["RawMessage"] if m["destinations"][0].endswith("@" + domain)]
got = sorted((m["destinations"][0], email.message_from_string(m["raw_data"], policy=email.policy.default)["Subject"]) for m in mine)
want = sorted([(f"student0{i}@{domain}", "[operating-systems] [test01] Test score") for i in (1, 2, 3)]
              + [(f"trainer@{domain}", "[Ework] Scores report: operating-systems/test01")])
assert got == want, got
s3 = boto3.client("s3", endpoint_url=os.environ["EWORK_MOTO_URL"], region_name="eu-central-1")
obj = s3.get_object(Bucket=bucket, Key="_system/results/operating-systems/test01/results.json")
results = json.loads(obj["Body"].read())
score = results["scores"]["student02"]
assert "grade" in score, score
assert (score["points"], score["total"], score["grade"]) == (1, 2, 3), score
assert obj.get("ServerSideEncryption") == "AES256", obj.get("ServerSideEncryption")
print("ok: 3 students + trainer emailed once; results stored encrypted")
PY
echo "scorer lambda runtime checks passed"

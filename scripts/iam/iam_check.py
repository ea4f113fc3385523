"""IAM is tested, not assumed: runs every function's real code under exactly the policy
its CloudFormation role grants, against a moto server that enforces IAM.

Run through scripts/checks/47-iam-moto.sh (it builds the binaries first). Steps:

1. A moto of its own (scripts/iam/moto_iam.py) on a free 127.0.0.1 port with
   INITIAL_NO_AUTH_ACTION_COUNT=3: the first three requests create the admin user, its
   policy and its access key; every later request is authorized.
2. The admin creates the course bucket (versioned, SSE-S3), the SES identity, an API
   Gateway usage plan and a stand-in API stack whose outputs the trainer reads.
3. scripts/iam/render.py renders, for this account, region and bucket, the policies of
   ListTestsRole, GetTestRole, UploadAnswersRole, TrainerPolicy (api.yaml), ScorerRole,
   TrainerScorePolicy (scorer.yaml) and the course bucket policy (storage.yaml). Each
   function gets an IAM user whose only policies are its role's, and runs with the
   environment variables its AWS::Lambda::Function sets.
4. Flows, each with the real binaries: the trainer (`trainer sync`, `keys issue/list`)
   publishes a course and issues keys; the students list, get and upload through the
   three Lambda binaries (cargo lambda watch + invoke, the Lambda Runtime API); the scorer
   Lambda grades, emails, folds and purges its journal; `trainer sync --rescore` and a
   second scorer run complete a rescore; `trainer score`, `keys rotate/revoke` and
   `student export/erase` run under the trainer's policies. Every flow must also finish
   without a single refused request (the harness logs each decision), so a call the
   code makes without its permission fails here even when the code swallows the error.
5. Refusals: direct calls with each function's keys that its policy must refuse
   (get-test reading an answer key, upload writing under _system/, the scorer writing
   the key registry or the catalog, ...), each confirmed as an IAM denial in the log.

Prints one line per flow and refusal, the IAM actions each user needed, and exits
non-zero if any failed. What moto's IAM cannot evaluate, and what stands in for it, is
listed in scripts/iam/moto_iam.py; not exercised at all: KMS (the bucket uses SSE-S3
here), the logs and dead-letter rights (used by the Lambda service, not by the code) and
the bucket policy's TLS-only statement (the harness speaks HTTP to 127.0.0.1).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import render  # noqa: E402

REGION = "eu-central-1"
ACCOUNT = "123456789012"
DOMAIN = "iam-check.example.com"
SENDER = f"scorer@{DOMAIN}"
TRAINER_EMAIL = f"trainer@{DOMAIN}"
STORAGE_STACK = "ework-iam-storage"
API_STACK = "ework-iam-api"
SCORER_STACK = "ework-iam-scorer"
SUBJECT, TEST, LATER_TEST = "operating-systems", "test01", "test02"
# Far-future deadlines, so the API accepts answers whatever the real date; the scorer is
# told what time it is. test01 is graded by the scorer Lambda, test02 by `trainer score`.
DUES = {TEST: "2099-11-30 23:00", LATER_TEST: "2099-12-07 23:00"}
AFTER_DUE = "2099-12-01T12:00:00Z"
AFTER_LATER_DUE = "2099-12-08T12:00:00Z"
STUDENTS = ["student01", "student02", "student03"]
# binary: (template, role, function resource)
FUNCTIONS = {
    "list-tests": ("api", "ListTestsRole", "ListTestsFunction"),
    "get-test": ("api", "GetTestRole", "GetTestFunction"),
    "upload-answers": ("api", "UploadAnswersRole", "UploadAnswersFunction"),
    "scorer": ("scorer", "ScorerRole", "ScorerFunction"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


class Harness:
    def __init__(self, work: Path, target_dir: Path, only: set[str] | None):
        self.work = work
        self.target_dir = target_dir
        self.only = only
        self.bucket = f"ework-iam-{os.getpid()}"
        self.decisions = work / "decisions.jsonl"
        self.decisions.touch()
        self.processes: list[subprocess.Popen] = []
        self.results: list[tuple[str, bool, str]] = []
        self.keys: dict[str, str] = {}
        self.creds: dict[str, dict[str, str]] = {}
        self.watch_ports: dict[str, int] = {}
        self.timings: list[tuple[str, float]] = []
        self.function_env: dict[str, dict[str, str]] = {}

    # ---- processes --------------------------------------------------------------------------
    def spawn(self, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env,
                                cwd=ROOT, start_new_session=True)
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # the group this harness started
                except ProcessLookupError:
                    pass
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def clean_env(self, user: str | None) -> dict[str, str]:
        """The caller's environment without AWS or Ework settings, plus one user's keys."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EWORK_"))}
        env.update({
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.url,
            "AWS_CONFIG_FILE": str(self.work / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true", "CARGO_TARGET_DIR": str(self.target_dir),
        })
        if user:
            env["AWS_ACCESS_KEY_ID"] = self.creds[user]["aws_access_key_id"]
            env["AWS_SECRET_ACCESS_KEY"] = self.creds[user]["aws_secret_access_key"]
        return env

    # ---- moto -------------------------------------------------------------------------------
    def start_moto(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.bucket_policies = self.work / "bucket-policies.json"
        self.bucket_policies.write_text("{}")
        env = self.clean_env(None)
        env.update({"INITIAL_NO_AUTH_ACTION_COUNT": "3", "EWORK_IAM_DECISIONS": str(self.decisions),
                    "EWORK_IAM_BUCKET_POLICIES": str(self.bucket_policies)})
        self.spawn([sys.executable, str(HERE / "moto_iam.py"), "-H", "127.0.0.1", "-p", str(port)],
                   self.work / "moto.log", env)
        for _ in range(150):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise Failed("moto did not start: " + (self.work / "moto.log").read_text()[-2000:])

    def client(self, service: str, user: str):
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            config=Config(retries={"max_attempts": 1}), **self.creds[user])

    def bootstrap_admin(self) -> None:
        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        # These three are the INITIAL_NO_AUTH_ACTION_COUNT requests; IAM applies from here on.
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.creds["admin"] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        try:
            boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id="nobody",
                         aws_secret_access_key="nobody").list_buckets()
        except ClientError:
            pass
        else:
            raise Failed("moto accepted an unknown access key: IAM is not enforced")

    def setup_aws(self) -> None:
        s3 = self.client("s3", "admin")
        s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=self.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self.client("sesv2", "admin").create_email_identity(EmailIdentity=SENDER)
        apigw = self.client("apigateway", "admin")
        api_id = apigw.create_rest_api(name=API_STACK)["id"]
        self.usage_plan = apigw.create_usage_plan(name=f"{API_STACK}-students")["id"]
        # A stand-in for the api stack: the outputs and parameters `trainer --stack` reads.
        template = {
            "Parameters": {"TimeZone": {"Type": "String"}, "KmsKeyArn": {"Type": "String", "Default": ""}},
            "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {
                "BucketName": {"Value": self.bucket},
                "UsagePlanId": {"Value": self.usage_plan},
                "ApiId": {"Value": api_id},
                "ApiUrl": {"Value": f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api"},
            },
        }
        cfn = self.client("cloudformation", "admin")
        cfn.create_stack(StackName=API_STACK, TemplateBody=json.dumps(template),
                         Parameters=[{"ParameterKey": "TimeZone", "ParameterValue": "Europe/Warsaw"}])
        # A stack the trainer has no business reading.
        cfn.create_stack(StackName="someone-elses-stack", TemplateBody=json.dumps(
            {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))

    # ---- policies -----------------------------------------------------------------------------
    def renderers(self) -> dict[str, render.Renderer]:
        imports = render.storage_imports(STORAGE_STACK, self.bucket)
        log_arn = lambda name: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"  # noqa: E731
        api = render.Context(
            stack_name=API_STACK, account=ACCOUNT, region=REGION, imports=imports,
            parameters={"StorageStackName": STORAGE_STACK, "ListTestsCodeKey": "list-tests.zip",
                        "GetTestCodeKey": "get-test.zip", "UploadAnswersCodeKey": "upload-answers.zip"},
            refs={"UsagePlan": self.usage_plan},
            attrs={f"{fn}LogGroup.Arn": log_arn(f"/aws/lambda/{API_STACK}-{name}") for fn, name in
                   [("ListTests", "list-tests"), ("GetTest", "get-test"), ("UploadAnswers", "upload-answers")]})
        scorer = render.Context(
            stack_name=SCORER_STACK, account=ACCOUNT, region=REGION, imports=imports,
            parameters={"StorageStackName": STORAGE_STACK, "CodeKey": "scorer.zip",
                        "SenderEmail": SENDER, "TrainerEmail": TRAINER_EMAIL},
            attrs={"ScorerLogGroup.Arn": log_arn(f"/aws/lambda/{SCORER_STACK}"),
                   "DeadLetterQueue.Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{SCORER_STACK}-dlq"})
        storage = render.Context(stack_name=STORAGE_STACK, account=ACCOUNT, region=REGION,
                                 refs={"CourseBucket": self.bucket, "ArtifactsBucket": "ework-iam-artifacts"},
                                 attrs={"CourseBucket.Arn": f"arn:aws:s3:::{self.bucket}",
                                        "ArtifactsBucket.Arn": "arn:aws:s3:::ework-iam-artifacts"})
        templates = ROOT / "cloudformation"
        return {
            "api": render.Renderer(render.load(templates / "api.yaml"), api),
            "scorer": render.Renderer(render.load(templates / "scorer.yaml"), scorer),
            "storage": render.Renderer(render.load(templates / "storage.yaml"), storage),
        }

    def create_users(self) -> None:
        r = self.renderers()
        self.bucket_policies.write_text(json.dumps({self.bucket: r["storage"].bucket_policy("CourseBucketPolicy")}))
        iam = self.client("iam", "admin")
        rendered = {}
        for user, (stack, role, function) in FUNCTIONS.items():
            self.function_env[user] = r[stack].function_environment(function)
            iam.create_user(UserName=user)
            policies = r[stack].role_policies(role)
            for name, doc in policies.items():
                iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(doc))
            rendered[user] = policies
        iam.create_user(UserName="trainer")
        rendered["trainer"] = {}
        for stack, logical in [("api", "TrainerPolicy"), ("scorer", "TrainerScorePolicy")]:
            doc = r[stack].managed_policy(logical)
            arn = iam.create_policy(PolicyName=f"{stack}-{logical}", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
            iam.attach_user_policy(UserName="trainer", PolicyArn=arn)
            rendered["trainer"][logical] = doc
        for user in [*FUNCTIONS, "trainer"]:
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.creds[user] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        (self.work / "rendered-policies.json").write_text(json.dumps(rendered, indent=2))

    # ---- decisions ----------------------------------------------------------------------------
    def decision_mark(self) -> int:
        return len(self.decisions.read_text().splitlines())

    def decisions_since(self, mark: int) -> list[dict]:
        return [json.loads(line) for line in self.decisions.read_text().splitlines()[mark:]]

    def refused_since(self, mark: int) -> list[dict]:
        return [d for d in self.decisions_since(mark) if not d["allowed"]]

    # ---- running the code ---------------------------------------------------------------------
    def trainer(self, *args: str) -> str:
        """Runs `trainer` as the trainer's IAM user; returns its standard output."""
        started = time.monotonic()
        done = subprocess.run([str(self.trainer_bin), *args], env=self.clean_env("trainer"), cwd=self.work,
                              capture_output=True, text=True, timeout=120)
        self.timings.append((f"trainer {' '.join(args[:2])}", time.monotonic() - started))
        out = done.stdout + done.stderr
        (self.work / "trainer.log").open("a").write(f"$ trainer {' '.join(args)}\n{out}\n")
        expect(done.returncode == 0, f"trainer {' '.join(args)} exited {done.returncode}: {out.strip()[-1500:]}")
        return done.stdout

    def copy_trainer(self) -> None:
        # The shared target dir may be rebuilt by someone else while this runs.
        self.trainer_bin = self.work / "trainer"
        shutil.copy2(self.target_dir / "debug" / "trainer", self.trainer_bin)

    def start_watchers(self) -> None:
        for fn in FUNCTIONS:
            port = free_port()
            env_file = self.work / f"{fn}.env"
            # The function's environment as the template sets it (no EWORK_SEND_RATE by
            # default, so the scorer asks SES for its quota), plus what Lambda provides.
            variables = dict(self.function_env[fn])
            variables.update({
                "AWS_ENDPOINT_URL": self.url, "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": self.creds[fn]["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": self.creds[fn]["aws_secret_access_key"],
                "AWS_CONFIG_FILE": str(self.work / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "RUST_LOG": "warn",
            })
            env_file.write_text("".join(f"{k}={json.dumps(v)}\n" for k, v in variables.items()))
            self.spawn(["cargo", "lambda", "watch", "--quiet", "--ignore-changes", "--invoke-address", "127.0.0.1",
                        "--invoke-port", str(port), "--env-file", str(env_file)],
                       self.work / f"watch-{fn}.log", self.clean_env(None))
            self.watch_ports[fn] = port
        for fn, port in self.watch_ports.items():
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise Failed(f"cargo lambda watch for {fn} did not start: "
                             + (self.work / f"watch-{fn}.log").read_text()[-1500:])

    def invoke(self, fn: str, event: dict) -> dict:
        data = self.work / f"event-{fn}.json"
        data.write_text(json.dumps(event))
        started = time.monotonic()
        done = subprocess.run(
            ["cargo", "lambda", "invoke", fn, "--invoke-address", "127.0.0.1", "--invoke-port",
             str(self.watch_ports[fn]), "--data-file", str(data), "--output-format", "json"],
            env=self.clean_env(None), cwd=ROOT, capture_output=True, text=True, timeout=300)
        self.timings.append((f"invoke {fn}", time.monotonic() - started))
        if done.returncode != 0:
            log = (self.work / f"watch-{fn}.log").read_text()[-2000:]
            raise Failed(f"{fn} invocation failed: {(done.stdout + done.stderr).strip()[-1500:]}\n{log}")
        return json.loads(done.stdout)

    def api_event(self, method: str, path: str, key: str, body: dict | None = None,
                  query: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json", "Host": "iam.execute-api.eu-central-1.amazonaws.com",
                   "x-api-key": key}
        return {
            "resource": path, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query, "multiValueQueryStringParameters":
                {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": None, "stageVariables": None,
            "requestContext": {"accountId": ACCOUNT, "apiId": "iam", "resourcePath": path, "httpMethod": method,
                               "path": f"/api{path}", "stage": "api", "requestId": f"iam-{time.time_ns()}",
                               "protocol": "HTTP/1.1", "identity": {"sourceIp": "127.0.0.1", "apiKey": key}},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
        }

    def call_api(self, fn: str, student: str, expect_status: int, **kw) -> dict:
        routes = {"list-tests": ("POST", "/api/v1/tests"), "get-test": ("GET", "/api/v1/test"),
                  "upload-answers": ("POST", "/api/v1/test")}
        method, path = routes[fn]
        response = self.invoke(fn, self.api_event(method, path, self.keys[student], **kw))
        body = json.loads(response["body"])
        expect(response["statusCode"] == expect_status,
               f"{fn} as {student}: status {response['statusCode']} != {expect_status}: {response['body'][:600]}")
        return body

    # ---- flows --------------------------------------------------------------------------------
    def run(self, name: str, flow, refusals_expected: bool = False) -> None:
        if self.only and not any(o in name for o in self.only):
            return
        mark = self.decision_mark()
        started = time.monotonic()
        try:
            flow()
            refused = [] if refusals_expected else self.refused_since(mark)
            expect(not refused, "refused requests during the flow: " + "; ".join(
                f"{d['user']} {d['action']} {d.get('resources')} ({d['reason']})" for d in refused[:6]))
            self.results.append((name, True, f"{time.monotonic() - started:.1f} s"))
        except Exception as e:  # one failed flow must not hide the others
            detail = str(e) if isinstance(e, Failed) else traceback.format_exc(limit=3)
            refused = self.refused_since(mark)
            if refused:
                detail += "\n    refused: " + "; ".join(
                    f"{d['user']} {d['action']} {d.get('resources')} ({d['reason']})" for d in refused[:6])
            self.results.append((name, False, detail))

    def course_dir(self) -> Path:
        course = self.work / "course"
        (course / "subjects").mkdir(parents=True, exist_ok=True)
        (course / "studentsList.json").write_text(json.dumps(
            [{"student_id": s, "email": f"{s}@{DOMAIN}"} for s in STUDENTS]))
        for test_id, due in DUES.items():
            test = course / "subjects" / SUBJECT / test_id
            if test.exists():
                continue
            test.mkdir(parents=True)
            (test / "questions.json").write_text(json.dumps([
                {"questionId": "1", "question": "What is a kernel?",
                 "answers": [{"answerId": "a", "answerBody": "The core of an OS"}, {"answerId": "b", "answerBody": "A seed"}]},
                {"questionId": "2", "question": "What is a process?",
                 "answers": [{"answerId": "a", "answerBody": "A running program"}, {"answerId": "b", "answerBody": "A file"}]},
            ]))
            (test / "questionsKey.json").write_text(json.dumps([{"questionId": "1", "answer": "a"},
                                                                {"questionId": "2", "answer": "a"}]))
            (test / "test.json").write_text(json.dumps({"title": f"Kernels {test_id}", "due": due}))
        return course

    def flow_trainer_publishes(self) -> None:
        out = self.trainer("sync", str(self.course_dir()), "--stack", API_STACK)
        expect(TEST in out, f"sync did not mention {TEST}: {out[-800:]}")
        out = self.trainer("keys", "issue", "--missing", "--stack", API_STACK)
        self.keys = dict(re.findall(r"^\s+(\S+)\s+(ewk_\S+)\s*$", out, flags=re.M))
        expect(sorted(self.keys) == STUDENTS, f"keys issued to {sorted(self.keys)}: {out[-800:]}")
        keys = self.client("apigateway", "admin").get_usage_plan_keys(usagePlanId=self.usage_plan)["items"]
        expect(len(keys) == len(STUDENTS), f"usage plan has {len(keys)} keys")
        out = self.trainer("keys", "list", "--stack", API_STACK)
        expect(all(s in out for s in STUDENTS), f"keys list: {out[-800:]}")

    def flow_students(self) -> None:
        expect(bool(self.keys), "no student keys (the trainer flow failed)")
        problems = []

        def step(what, call):
            # Every step is tried even when one fails, so the report names each and the
            # scorer still finds the uploads that worked.
            try:
                call()
            except Failed as e:
                problems.append(f"{what}: {e}")

        def listing(submitted: bool):
            text = json.dumps(self.call_api("list-tests", "student01", 200, body={"studentId": "student01"}))
            expect(TEST in text and f'"submitted": {str(submitted).lower()}' in text, f"list-tests: {text[:400]}")

        def get(student: str, submitted: bool):
            body = self.call_api("get-test", student, 200, query={"subjectName": SUBJECT, "testId": TEST})
            text = json.dumps(body)
            expect("What is a kernel?" in text and "questionsKey" not in text, f"get-test: {text[:400]}")
            # GET /test returns the caller's stored answers once there are some.
            expect(bool(body.get("submission")) == submitted, f"get-test submission: {text[:400]}")

        def upload(student: str, test_id: str, answers: str):
            self.call_api("upload-answers", student, 200, body={
                "subjectName": SUBJECT, "testId": test_id, "studentId": student,
                "testResult": [{"questionId": str(i + 1), "answer": a} for i, a in enumerate(answers)]})

        step("list before uploading", lambda: listing(False))
        step("get before uploading", lambda: get("student01", False))
        step("first upload", lambda: upload("student01", TEST, "aa"))
        step("another student's upload", lambda: upload("student02", TEST, "ba"))
        step("replacing upload", lambda: upload("student01", TEST, "ab"))
        step("upload to the later test", lambda: upload("student01", LATER_TEST, "aa"))
        step("get after uploading", lambda: get("student01", True))
        step("list after uploading", lambda: listing(True))
        expect(not problems, "; ".join(problems))
        # The upload is stored where the scorer reads it, encrypted.
        obj = self.client("s3", "admin").get_object(Bucket=self.bucket, Key=f"{SUBJECT}/{TEST}/student01/testResult.json")
        expect(obj.get("ServerSideEncryption") == "AES256", "submission not SSE-S3 encrypted")

    def journal_versions(self) -> list:
        listed = self.client("s3", "admin").list_object_versions(Bucket=self.bucket, Prefix="_system/journal/")
        return listed.get("Versions", []) + listed.get("DeleteMarkers", [])

    def flow_scorer(self) -> None:
        summary = self.invoke("scorer", {"now": AFTER_DUE})
        expect(summary.get("complete") is True, f"scorer pass incomplete: {json.dumps(summary)[:800]}")
        expect(len(summary["scored"]) == 2 and len(summary["sent"]) == 2 and summary["report"],
               f"scorer: {json.dumps(summary)[:800]}")
        expect(not summary["failed"] and not summary["problems"], f"scorer: {json.dumps(summary)[:800]}")
        expect(self.journal_versions() == [], "journal versions left after the fold")
        s3 = self.client("s3", "admin")
        results = json.loads(s3.get_object(Bucket=self.bucket, Key=f"_system/results/{SUBJECT}/{TEST}/results.json")["Body"].read())
        expect(results.get("settled") is True, f"results not settled: {json.dumps(results)[:400]}")

    def flow_rescore(self) -> None:
        course = self.course_dir()
        (course / "subjects" / SUBJECT / TEST / "questionsKey.json").write_text(json.dumps(
            [{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "b"}]))
        self.trainer("sync", str(course), "--stack", API_STACK, "--rescore", "--now", AFTER_DUE)
        marker = f"_system/rescore/{SUBJECT}/{TEST}"
        s3 = self.client("s3", "admin")
        before = s3.get_object(Bucket=self.bucket, Key=marker)["Body"].read()
        expect(before != b"done", "sync --rescore left no active marker")
        summary = self.invoke("scorer", {"now": AFTER_DUE})
        expect(summary.get("complete") is True and summary["report"], f"rescore pass: {json.dumps(summary)[:800]}")
        expect(len(summary["sent"]) == 2, f"rescore should re-email both graded students: {json.dumps(summary)[:800]}")
        expect(s3.get_object(Bucket=self.bucket, Key=marker)["Body"].read() == b"done", "rescore marker not done")
        expect(self.journal_versions() == [], "journal versions left after the rescore fold")

    def flow_trainer_scores(self) -> None:
        # No --send-rate: the pace comes from the SES account's quota (ses:GetAccount).
        out = self.trainer("score", "--now", AFTER_LATER_DUE, "--force", "--stack", API_STACK, "--sender", SENDER,
                           "--trainer-email", TRAINER_EMAIL, "--json")
        summary = json.loads(out[out.index("{"):])
        expect(summary.get("complete") is True and len(summary["sent"]) == 1 and summary["report"],
               f"trainer score: {out[-800:]}")
        expect(self.journal_versions() == [], "journal versions left after trainer score")

    def flow_trainer_manages_keys_and_data(self) -> None:
        before = {k["id"] for k in self.client("apigateway", "admin").get_usage_plan_keys(usagePlanId=self.usage_plan)["items"]}
        out = self.trainer("keys", "rotate", "student03", "--stack", API_STACK)
        new = re.findall(r"student03\s+(ewk_\S+)", out)
        expect(len(new) == 1, f"rotate: {out[-600:]}")
        self.keys["student03"] = new[0]
        self.trainer("keys", "revoke", "student03", "--stack", API_STACK)
        after = {k["id"] for k in self.client("apigateway", "admin").get_usage_plan_keys(usagePlanId=self.usage_plan)["items"]}
        expect(len(after) == len(before) - 1, f"usage plan keys {len(before)} -> {len(after)} after rotate + revoke")
        self.trainer("student", "export", "student02", "--stack", API_STACK, "--output", str(self.work / "export.json"))
        expect(f"{SUBJECT}/{TEST}/student02/testResult.json" in (self.work / "export.json").read_text(), "export misses the submission")
        self.trainer("student", "erase", "student02", "--yes", "--stack", API_STACK)
        listed = self.client("s3", "admin").list_object_versions(Bucket=self.bucket, Prefix=f"{SUBJECT}/{TEST}/student02/")
        expect(not listed.get("Versions") and not listed.get("DeleteMarkers"), "erase left versions of student02's objects")

    # ---- refusals -----------------------------------------------------------------------------
    def refusal(self, name: str, user: str, call, action: str, resource_part: str = "") -> None:
        def flow():
            mark = self.decision_mark()
            try:
                call(self)
            except ClientError as e:
                code = e.response["Error"]["Code"]
                # moto answers SES v2 (a JSON API) with an XML error body, so the code may be "403".
                expect(code in ("AccessDenied", "AccessDeniedException") or "AccessDenied" in str(e),
                       f"failed with {code}, not AccessDenied: {e}")
            else:
                raise Failed("the call succeeded")
            denied = [d for d in self.refused_since(mark) if d["user"] == user and d["action"] == action
                      and any(resource_part in r for r in d.get("resources", [""]))]
            expect(bool(denied), f"no IAM denial of {action} on *{resource_part}* logged for {user}")

        self.run(f"refused: {name}", flow, refusals_expected=True)

    def refusals(self) -> None:
        b = self.bucket
        fake_key = hashlib.sha256(b"ewk_minted_by_an_attacker").hexdigest()
        put = lambda user, key: lambda h: h.client("s3", user).put_object(  # noqa: E731
            Bucket=b, Key=key, Body=b"{}", ServerSideEncryption="AES256")
        get = lambda user, key: lambda h: h.client("s3", user).get_object(Bucket=b, Key=key)  # noqa: E731
        cases = [
            ("get-test reads an answer key", "get-test", get("get-test", f"{SUBJECT}/{TEST}/questionsKey.json"),
             "s3:GetObject", "questionsKey.json"),
            ("get-test reads a student's keyring", "get-test", get("get-test", "_system/keyring/student01.json"),
             "s3:GetObject", "_system/keyring/"),
            ("list-tests reads an answer key", "list-tests", get("list-tests", f"{SUBJECT}/{TEST}/questionsKey.json"),
             "s3:GetObject", "questionsKey.json"),
            ("list-tests writes a submission", "list-tests", put("list-tests", f"{SUBJECT}/{TEST}/student01/testResult.json"),
             "s3:PutObject", "testResult.json"),
            ("upload writes a key record", "upload-answers", put("upload-answers", f"_system/keys/{fake_key}"),
             "s3:PutObject", "_system/keys/"),
            ("upload writes a submission-shaped key under _system/", "upload-answers",
             put("upload-answers", "_system/results/x/testResult.json"), "s3:PutObject", "_system/results/"),
            ("upload writes the catalog", "upload-answers", put("upload-answers", "_system/catalog.json"),
             "s3:PutObject", "_system/catalog.json"),
            ("upload writes questions", "upload-answers", put("upload-answers", f"{SUBJECT}/{TEST}/questions.json"),
             "s3:PutObject", "questions.json"),
            ("upload writes a separate receipt", "upload-answers",
             put("upload-answers", f"{SUBJECT}/{TEST}/student01/receipt.json"), "s3:PutObject", "receipt.json"),
            ("upload reads an answer key", "upload-answers", get("upload-answers", f"{SUBJECT}/{TEST}/questionsKey.json"),
             "s3:GetObject", "questionsKey.json"),
            ("scorer writes a key record", "scorer", put("scorer", f"_system/keys/{fake_key}"), "s3:PutObject", "_system/keys/"),
            ("scorer writes the old key registry", "scorer", put("scorer", "_system/keys.json"), "s3:PutObject", "_system/keys.json"),
            ("scorer writes a keyring", "scorer", put("scorer", "_system/keyring/student01.json"), "s3:PutObject", "_system/keyring/"),
            ("scorer writes the catalog", "scorer", put("scorer", "_system/catalog.json"), "s3:PutObject", "_system/catalog.json"),
            ("scorer writes the roster", "scorer", put("scorer", "studentsList.json"), "s3:PutObject", "studentsList.json"),
            ("scorer writes an answer key", "scorer", put("scorer", f"{SUBJECT}/{TEST}/questionsKey.json"),
             "s3:PutObject", "questionsKey.json"),
            ("scorer reads a key record", "scorer", get("scorer", f"_system/keys/{fake_key}"), "s3:GetObject", "_system/keys/"),
            ("scorer lists versions outside its journal", "scorer",
             lambda h: h.client("s3", "scorer").list_object_versions(Bucket=b, Prefix=f"{SUBJECT}/"),
             "s3:ListBucketVersions"),
            ("scorer purges a submission version", "scorer",
             lambda h: h.client("s3", "scorer").delete_object(Bucket=b, Key=f"{SUBJECT}/{TEST}/student01/testResult.json",
                                                              VersionId=h.any_version(f"{SUBJECT}/{TEST}/student01/testResult.json")),
             "s3:DeleteObjectVersion", "testResult.json"),
            ("scorer sends as another identity", "scorer",
             lambda h: h.client("sesv2", "scorer").send_email(
                 FromEmailAddress="ceo@other.example.org", Destination={"ToAddresses": ["x@other.example.org"]},
                 Content={"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hi"}}}}),
             "ses:SendEmail", "identity/other.example.org"),
            ("trainer writes without encryption (bucket policy)", "trainer",
             lambda h: h.client("s3", "trainer").put_object(Bucket=b, Key="studentsList.json", Body=b"[]"),
             "s3:PutObject", "studentsList.json"),
            ("trainer reads another stack", "trainer",
             lambda h: h.client("cloudformation", "trainer").describe_stacks(StackName="someone-elses-stack"),
             "cloudformation:DescribeStacks", "someone-elses-stack"),
        ]
        for name, user, call, action, *part in cases:
            self.refusal(name, user, call, action, *part)

    def any_version(self, key: str) -> str:
        listed = self.client("s3", "admin").list_object_versions(Bucket=self.bucket, Prefix=key)
        versions = [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]
        return versions[0] if versions else "0"

    # ---- report -------------------------------------------------------------------------------
    def coverage(self) -> dict[str, list[str]]:
        used: dict[str, set[str]] = {}
        for d in self.decisions_since(0):
            if d["allowed"] and d["user"] != "admin":
                used.setdefault(d["user"], set()).add(d["action"])
        return {u: sorted(a) for u, a in sorted(used.items())}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="IAM check against moto with enforced IAM")
    parser.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")))
    parser.add_argument("--only", action="append",
                        help="run only flows whose name contains this (repeatable; for debugging: a later flow "
                             "needs the data of the earlier ones)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, decisions, rendered policies)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ework-iam-"))
    h = Harness(work, Path(args.target_dir), set(args.only) if args.only else None)
    try:
        h.copy_trainer()
        h.start_moto()
        h.bootstrap_admin()
        h.setup_aws()
        h.create_users()
        h.start_watchers()
        h.run("trainer: sync and keys issue/list (TrainerPolicy)", h.flow_trainer_publishes)
        h.run("students: list-tests, get-test, upload-answers x3 (Lambda binaries)", h.flow_students)
        h.run("scorer: grade, email, fold and purge the journal (Lambda binary)", h.flow_scorer)
        h.run("rescore: trainer sync --rescore, scorer re-run, marker done", h.flow_rescore)
        h.run("trainer: score --stack (TrainerPolicy + TrainerScorePolicy)", h.flow_trainer_scores)
        h.run("trainer: keys rotate/revoke, student export/erase", h.flow_trainer_manages_keys_and_data)
        h.refusals()
    except Exception as e:
        h.results.append(("setup", False, str(e) if isinstance(e, Failed) else traceback.format_exc()))
    finally:
        h.stop()
    failed = [r for r in h.results if not r[1]]
    for name, ok, detail in h.results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n    {detail}"))
    slow = sorted(h.timings, key=lambda t: -t[1])[:3]
    print("slowest steps: " + ", ".join(f"{label} {secs:.1f} s" for label, secs in slow))
    print("actions used under enforced IAM:")
    for user, actions in h.coverage().items():
        print(f"  {user}: {', '.join(actions)}")
    print(f"{len(h.results) - len(failed)} passed, {len(failed)} failed in {time.monotonic() - started:.0f} s"
          + (f"; logs in {work}" if failed or args.keep else ""))
    if not failed and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

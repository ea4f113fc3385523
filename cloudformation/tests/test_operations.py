"""Structural checks of the operations side of the templates and playbooks (issue
"Operations on AWS"): alarms that reach the trainer and say what to do, the weekly
heartbeat, tracing, versions and the `live` alias, the API deployment renewed with every
release, safe account and bucket settings, placeholder addresses refused, and every
scanner finding that is skipped carrying its reason.

moto creates no alarms, stages, usage plans or schedules and ignores bucket logging and
termination protection, so these properties are asserted on the files themselves.
Run: pytest cloudformation/tests (scripts/checks/30-cfn-lint.sh does).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_templates import ROOT_DIR, iam_eval, load, resolve, resources_of  # noqa: E402

PLAYBOOKS = ROOT_DIR / "playbooks"
TOPIC = {"Fn::ImportValue": {"Fn::Sub": "${StorageStackName}-AlarmTopicArn"}}


def _plugin():
    spec = importlib.util.spec_from_file_location("ework_filters", PLAYBOOKS / "filter_plugins" / "ework.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ework = _plugin()


def playbook(name: str) -> list[dict]:
    return yaml.safe_load((PLAYBOOKS / name).read_text())


def tasks(play: list[dict]) -> list[dict]:
    out = []

    def walk(items):
        for t in items:
            out.append(t)
            for key in ("block", "rescue", "always"):
                walk(t.get(key, []))

    for p in play:
        walk(p.get("tasks", []))
    return out


def task(play: list[dict], name: str) -> dict:
    found = [t for t in tasks(play) if t.get("name") == name]
    assert len(found) == 1, (name, [t.get("name") for t in tasks(play)])
    return found[0]


# ---- alarms reach the trainer ----------------------------------------------------------------
def test_the_storage_stack_creates_the_alarm_topic_with_the_trainer_subscribed_unless_one_is_given():
    storage = load("storage.yaml")
    topic = storage["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "CreateAlarmTopic"
    assert storage["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert storage["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "TrainerEmail"}}]
    output = storage["Outputs"]["AlarmTopicArn"]
    assert output["Value"] == {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-AlarmTopicArn"}
    # CloudWatch of this account may publish; nothing goes over plain HTTP.
    statements = resolve(storage["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"], {})["Statement"]
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def all_alarms():
    for name in ["api.yaml", "scorer.yaml"]:
        template = load(name)
        for kind in ["AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"]:
            for logical, alarm in resources_of(template, kind).items():
                yield name, logical, alarm


@pytest.mark.parametrize("name,logical,alarm", list(all_alarms()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_alarm_notifies_the_topic_and_says_what_to_do(name, logical, alarm):
    props = alarm["Properties"]
    description = props["AlarmDescription"]
    assert props["AlarmActions"] == [TOPIC], logical
    assert 120 <= len(description) <= 1024, (logical, len(description))
    # What to do: a place to look or a command to run.
    assert re.search(r"log|console|trainer |invoke|Check|check|Look|look|Tell|tell", description), logical


def alarm_on(template: dict, namespace: str, metric: str) -> dict:
    found = [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
             if a["Properties"].get("Namespace") == namespace and a["Properties"].get("MetricName") == metric]
    assert len(found) == 1, (namespace, metric, found)
    return found[0]


def test_the_scorer_stack_alarms_on_errors_dead_letters_throttles_and_ses_reputation():
    scorer = load("scorer.yaml")
    errors = alarm_on(scorer, "AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ScorerFunction"}}]
    dlq = alarm_on(scorer, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert dlq["Threshold"] == 0 and dlq["ComparisonOperator"] == "GreaterThanThreshold"
    throttles = alarm_on(scorer, "AWS/Lambda", "Throttles")
    assert throttles["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ScorerFunction"}}]
    for metric, threshold in [("Reputation.BounceRate", 0.05), ("Reputation.ComplaintRate", 0.001)]:
        ses = alarm_on(scorer, "AWS/SES", metric)
        assert ses["Dimensions"] == [{"Name": "ses:configuration-set", "Value": {"Ref": "SesConfigurationSet"}}]
        assert ses["Threshold"] == threshold
    ses_alarms = [a for a in resources_of(scorer, "AWS::CloudWatch::Alarm").values()
                  if a["Properties"].get("Namespace") == "AWS/SES"]
    assert all(a["Condition"] == "SesReputationAlarms" for a in ses_alarms)
    assert scorer["Conditions"]["SesReputationAlarms"] == {
        "Fn::And": [{"Fn::Condition": "HasConfigurationSet"}, {"Fn::Condition": "SesInOwnRegion"}]}


def test_the_api_stack_alarms_on_5xx_p99_latency_and_throttles_of_its_functions():
    api = load("api.yaml")
    stage_dims = [{"Name": "ApiName", "Value": {"Ref": "AWS::StackName"}}, {"Name": "Stage", "Value": {"Ref": "StageName"}}]
    errors = alarm_on(api, "AWS/ApiGateway", "5XXError")
    assert errors["Dimensions"] == stage_dims and errors["Threshold"] == {"Ref": "Api5xxAlarmCount"}
    latency = alarm_on(api, "AWS/ApiGateway", "Latency")
    assert latency["Dimensions"] == stage_dims
    assert latency["ExtendedStatistic"] == "p99" and latency["Threshold"] == {"Ref": "ApiLatencyAlarmMs"}
    # RestApi Name is the stack name, which the ApiName dimension relies on.
    assert api["Resources"]["RestApi"]["Properties"]["Name"] == {"Ref": "AWS::StackName"}
    throttles = api["Resources"]["ApiThrottlesAlarm"]["Properties"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in throttles if "MetricStat" in m}
    assert watched == {"ListTestsFunction", "GetTestFunction", "UploadAnswersFunction"}
    assert all(m["MetricStat"]["Metric"]["MetricName"] == "Throttles" for m in throttles if "MetricStat" in m)


# ---- the heartbeat ---------------------------------------------------------------------------
HANDLER = (ROOT_DIR / "functions" / "scorer" / "src" / "handler.rs").read_text()


def test_the_heartbeat_reads_the_metric_the_scorer_emits():
    assert 'pub const METRICS_NAMESPACE: &str = "EworkTrainings";' in HANDLER
    assert 'pub const PASSES_COMPLETED: &str = "PassesCompleted";' in HANDLER
    assert '"Dimensions": [["Function"]]' in HANDLER
    scorer = load("scorer.yaml")
    alarm = scorer["Resources"]["HeartbeatAlarm"]
    assert alarm["Type"] == "AWS::CloudWatch::Alarm"
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("EworkTrainings", "PassesCompleted")
    assert props["Dimensions"] == [{"Name": "Function", "Value": {"Ref": "ScorerFunction"}}]
    # No pass at all means no datapoint at all: missing data must count as a missed hour.
    assert props["TreatMissingData"] == "breaching"
    assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
    assert props["Statistic"] == "Sum"
    assert props["OKActions"] == props["AlarmActions"] == [TOPIC]


def test_the_scorer_emits_the_heartbeat_for_every_completed_pass_even_an_idle_one():
    # The metric is written for every pass that is not a dry run, with 1 when it
    # completed: a pass that finds nothing due completes, so an idle week keeps the
    # heartbeat alive and the alarm means a broken scorer, not a quiet course.
    assert "if !summary.dry_run {" in HANDLER
    assert "PASSES_COMPLETED: u8::from(summary.complete)," in HANDLER


@pytest.mark.parametrize("hours", [1, 2, 3, 4, 6, 8, 12])
def test_the_heartbeat_fires_after_n_whole_hours_without_a_completed_pass(hours):
    scorer = load("scorer.yaml")
    param = scorer["Parameters"]["HeartbeatGraceHours"]
    assert param["Type"] == "Number" and hours in param["AllowedValues"]
    assert param["Default"] == 2
    props = scorer["Resources"]["HeartbeatAlarm"]["Properties"]
    assert props["Period"] == 3600
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == {"Ref": "HeartbeatGraceHours"}
    # Every hourly period holds four passes (every 15 minutes), so one failed pass
    # never fires it; CloudWatch evaluates at most a day of hourly periods.
    runs = scorer["Resources"]["ScoringSchedule"]["Properties"]["ScheduleExpression"]
    assert runs == "cron(5/15 * * * ? *)"
    assert hours * 3600 <= 24 * 3600


def test_nothing_is_left_of_the_weekly_heartbeat_check():
    scorer = load("scorer.yaml")
    assert "Mappings" not in scorer
    assert not resources_of(scorer, "AWS::CloudWatch::CompositeAlarm")
    schedules = resources_of(scorer, "AWS::Scheduler::Schedule")
    assert list(schedules) == ["ScoringSchedule"]
    assert "HeartbeatCheckSchedule" not in scorer["Outputs"]
    # The scheduler only invokes the scorer and dead-letters: no metric rights.
    role = resolve(scorer["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"], {})["Statement"]
    assert not iam_eval.decide([{"Statement": role}], "cloudwatch:PutMetricData", ["*"],
                               {"cloudwatch:namespace": "EworkTrainings"}).allowed
    assert iam_eval.decide([{"Statement": role}], "lambda:InvokeFunction", ["${ScorerAlias}"], {}).allowed


# ---- tracing -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["api.yaml", "scorer.yaml"])
def test_x_ray_tracing_is_a_parameter_on_by_default_with_the_rights_it_needs(name):
    template = load(name)
    assert template["Parameters"]["Tracing"]["Default"] == "Active"
    for logical, fn in resources_of(template, "AWS::Lambda::Function").items():
        assert fn["Properties"]["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}, logical
        role = template["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        for on in (True, False):
            conds = {c: False for c in template["Conditions"]} | {"TracingActive": on}
            names = [p["PolicyName"] for p in resolve(role["Policies"], conds)]
            assert ("xray" in names) == on, (logical, on)
    if name == "api.yaml":
        assert template["Resources"]["Stage"]["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingActive", True, False]}


# ---- safe by default -------------------------------------------------------------------------
def test_the_account_wide_api_gateway_role_is_left_alone_by_default_and_retained_when_set():
    api = load("api.yaml")
    assert api["Parameters"]["SetApiGatewayAccountRole"]["Default"] == "false"
    account = api["Resources"]["ApiGatewayAccount"]
    role = api["Resources"]["ApiGatewayCloudWatchRole"]
    assert account["Condition"] == role["Condition"] == "SetAccountRole"
    assert role["DeletionPolicy"] == role["UpdateReplacePolicy"] == "Retain"
    assert "DependsOn" not in api["Resources"]["Stage"], "a DependsOn on a conditional resource breaks the default"
    # The deploy playbook's "auto" never overwrites a role that is set (unless it set it).
    decide = task(playbook("deploy.yml"), "Decide whether the api stack sets it")["ansible.builtin.set_fact"]["set_account_role"]
    assert "cloudwatchRoleArn == ''" in decide and "SetApiGatewayAccountRole" in decide


def test_the_api_refuses_tls_older_than_1_2():
    assert load("api.yaml")["Resources"]["RestApi"]["Properties"]["SecurityPolicy"] == "TLS_1_2"


def test_bucket_policies_stay_with_their_retained_buckets():
    storage = load("storage.yaml")
    policies = resources_of(storage, "AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for logical, policy in policies.items():
        assert policy["DeletionPolicy"] == policy["UpdateReplacePolicy"] == "Retain", logical
        bucket = storage["Resources"][policy["Properties"]["Bucket"]["Ref"]]
        assert bucket["DeletionPolicy"] == "Retain", logical


def course_puts(use_kms: bool) -> list[dict]:
    storage = load("storage.yaml")
    return resolve(storage["Resources"]["CourseBucketPolicy"]["Properties"]["PolicyDocument"], {"UseKms": use_kms})["Statement"]


def put_allowed(statements: list[dict], context: dict[str, str]) -> bool:
    allow_all = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
    ctx = {"aws:SecureTransport": "true", **context}
    return iam_eval.decide([{"Statement": [allow_all, *statements]}], "s3:PutObject",
                           ["${CourseBucket.Arn}/x/y/z/testResult.json"], ctx).allowed


def test_with_sse_kms_the_bucket_accepts_only_the_configured_key():
    statements = course_puts(True)
    kms = {"s3:x-amz-server-side-encryption": "aws:kms"}
    assert put_allowed(statements, kms), "no key named: the bucket default (the configured key) applies"
    assert put_allowed(statements, kms | {"s3:x-amz-server-side-encryption-aws-kms-key-id": "${KmsKeyArn}"})
    assert not put_allowed(statements, kms | {"s3:x-amz-server-side-encryption-aws-kms-key-id":
                                              "arn:aws:kms:eu-central-1:123456789012:key/another"})
    assert not put_allowed(statements, {"s3:x-amz-server-side-encryption": "AES256"})
    # Without a key the statement does not exist, and SSE-S3 puts pass.
    plain = course_puts(False)
    assert not any(s.get("Sid") == "DenyOtherKmsKeys" for s in plain)
    assert put_allowed(plain, {"s3:x-amz-server-side-encryption": "AES256"})


def test_the_course_and_artifacts_buckets_log_every_request_to_the_retained_log_bucket():
    storage = load("storage.yaml")
    res = storage["Resources"]
    for bucket, prefix in [("CourseBucket", "course/"), ("ArtifactsBucket", "artifacts/")]:
        logging = res[bucket]["Properties"]["LoggingConfiguration"]
        assert logging == {"DestinationBucketName": {"Ref": "AccessLogsBucket"}, "LogFilePrefix": prefix}
        assert res[bucket]["DependsOn"] == "AccessLogsBucketPolicy"
    logs = res["AccessLogsBucket"]
    assert logs["DeletionPolicy"] == "Retain"
    # Log delivery supports SSE-S3 only.
    assert logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert logs["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "AccessLogDays"}
    delivery = resolve(res["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"], {})["Statement"][0]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}}
    assert set(delivery["Resource"]) == {"${AccessLogsBucket.Arn}/course/*", "${AccessLogsBucket.Arn}/artifacts/*"}
    assert storage["Outputs"]["AccessLogsBucketName"]["Value"] == {"Ref": "AccessLogsBucket"}


def test_the_storage_stack_is_protected_and_a_failed_first_api_or_scorer_create_is_deleted():
    deploy = playbook("deploy.yml")
    storage = task(deploy, "Create or update the storage stack")["amazon.aws.cloudformation"]
    assert storage["termination_protection"] is True
    for name in ["Create or update the api stack", "Create or update the scorer stack"]:
        assert task(deploy, name)["amazon.aws.cloudformation"]["on_create_failure"] == "DELETE"
    remove = tasks(playbook("remove.yml"))
    names = [t["name"] for t in remove]
    lift = names.index("Lift the storage stack's termination protection")
    assert lift < names.index("Delete the storage stack (its buckets are retained)")
    assert "termination-protection" in remove[lift]["ansible.builtin.command"]["argv"]


def test_a_failed_run_names_the_stack_and_the_way_back():
    deploy = playbook("deploy.yml")
    block = task(deploy, "Deploy the stacks")
    assert block["rescue"], "a failure must be explained"
    message = task(deploy, "Say which stack failed and how to recover")
    recovery = message["vars"]["recovery"]
    for status in ["ABSENT", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"]:
        assert "deploy.yml again" in recovery[status], status
    steps = [t["ansible.builtin.set_fact"]["deploy_step"] for t in tasks(deploy)
             if "deploy_step" in t.get("ansible.builtin.set_fact", {})]
    assert steps == ["{{ storage_stack_name }}", "{{ api_stack_name }}", "{{ scorer_stack_name }}", "done"]


# ---- versions, the live alias and the API deployment ---------------------------------------------
ALIASED = {"api.yaml": {"ListTests": "ListTestsCodeKey", "GetTest": "GetTestCodeKey", "UploadAnswers": "UploadAnswersCodeKey"},
           "scorer.yaml": {"Scorer": "CodeKey"}}


@pytest.mark.parametrize("name", ["api.yaml", "scorer.yaml"])
def test_each_release_publishes_a_version_and_moves_the_live_alias(name):
    template = load(name)
    res = template["Resources"]
    for fn, code_key in ALIASED[name].items():
        version = res[f"{fn}Version"]["Properties"]
        assert version["FunctionName"] == {"Ref": f"{fn}Function"}
        # A new release or new code replaces the Version (a new version is published)...
        assert version["Description"] == {"Fn::Join": [" ", [{"Ref": code_key}, "release", {"Ref": "ReleaseId"}]]}
        # ...and the function changes with the release, so Lambda has something to publish.
        env = res[f"{fn}Function"]["Properties"]["Environment"]["Variables"]
        assert env["EWORK_RELEASE"] == {"Ref": "ReleaseId"}
        alias = res[f"{fn}Alias"]["Properties"]
        assert alias == {"FunctionName": {"Ref": f"{fn}Function"}, "FunctionVersion": {"Fn::GetAtt": [f"{fn}Version", "Version"]},
                         "Name": "live", "Description": alias["Description"]}
    if name == "api.yaml":
        for fn in ALIASED[name]:
            assert res[f"{fn}Permission"]["Properties"]["FunctionName"] == {"Ref": f"{fn}Alias"}
    else:
        assert res["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] == {
            "Ref": "ScorerAlias"}


API_PARAMS = {"ListTestsCodeKey": "lambda/a.zip", "GetTestCodeKey": "lambda/b.zip", "UploadAnswersCodeKey": "lambda/c.zip",
              "LogLevel": "info"}


def test_the_release_moves_exactly_when_the_template_or_a_parameter_changes():
    text = (ROOT_DIR / "cloudformation" / "api.yaml").read_text()
    first = ework.cfn_release(text, API_PARAMS)
    assert first == ework.cfn_release(text, dict(reversed(list(API_PARAMS.items()))))
    assert re.fullmatch(r"[0-9a-f]{16}", first["id"])
    assert first["parameters"]["ReleaseId"] == first["id"]
    # ReleaseId itself is not an input.
    assert ework.cfn_release(text, {**API_PARAMS, "ReleaseId": "x"})["id"] == first["id"]
    assert ework.cfn_release(text, {**API_PARAMS, "LogLevel": "debug"})["id"] != first["id"]
    assert ework.cfn_release(text + "\n# a comment\n", API_PARAMS)["id"] != first["id"]


def test_a_rendered_api_template_makes_a_new_deployment_that_the_stage_uses(tmp_path):
    text = (ROOT_DIR / "cloudformation" / "api.yaml").read_text()
    release = ework.cfn_release(text, API_PARAMS)
    rendered = yaml.load(release["template"], Loader=sys.modules["test_templates"].CfnLoader)  # noqa: S506
    new_id = "ApiDeployment" + release["id"]
    assert "ApiDeployment" not in rendered["Resources"] and new_id in rendered["Resources"]
    assert rendered["Resources"][new_id]["Type"] == "AWS::ApiGateway::Deployment"
    assert rendered["Resources"]["Stage"]["Properties"]["DeploymentId"] == {"Ref": new_id}
    # Nothing but the deployment's id changed.
    assert release["template"].replace(new_id, "ApiDeployment") == text
    path = tmp_path / "api-rendered.yaml"
    path.write_text(release["template"])
    lint = subprocess.run(["cfn-lint", "--format", "parseable", "--", str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_playbook_renders_the_uploaded_templates_and_passes_the_release():
    deploy = playbook("deploy.yml")
    render = task(deploy, "Render the templates with their releases")["ansible.builtin.set_fact"]
    assert "cfn_release(api_parameters)" in render["api_release"]
    assert "cfn_release(scorer_parameters)" in render["scorer_release"]
    upload = task(deploy, "Upload the templates (api.yaml and scorer.yaml as rendered for their release)")
    bodies = {i["name"]: i["body"] for i in upload["loop"]}
    assert bodies["api.yaml"] == "{{ api_release.template }}" and bodies["scorer.yaml"] == "{{ scorer_release.template }}"
    api = task(deploy, "Create or update the api stack")["amazon.aws.cloudformation"]
    assert api["template_parameters"] == "{{ api_release.parameters }}"
    # A check run compares the local rendering: templates must fit a TemplateBody.
    assert "api_release.template if ansible_check_mode" in api["template_body"]
    for name in ["storage.yaml", "api.yaml", "scorer.yaml"]:
        assert len((ROOT_DIR / "cloudformation" / name).read_bytes()) < 51_200, name


# ---- placeholders ---------------------------------------------------------------------------------
PLACEHOLDER = playbook("deploy.yml")[0]["vars"]["placeholder_email"]


@pytest.mark.parametrize("address,refused", [
    ("trainer@example.com", True), ("me@example.org", True), ("x@mail.example.net", True), ("A@EXAMPLE.COM", True),
    ("trainer@school.edu", False), ("scorer@ework-ci.test", False), ("me@example.com.pl", False), ("me@myexample.com", False)])
def test_the_playbook_refuses_placeholder_addresses_before_anything_is_created(address, refused):
    assert (re.search(PLACEHOLDER, address.lower()) is not None) == refused
    deploy = playbook("deploy.yml")
    names = [t.get("name") for t in tasks(deploy)]
    assert names.index("Refuse the placeholder addresses") < names.index("Deploy the stacks")


@pytest.mark.parametrize("name,params", [("storage.yaml", ["TrainerEmail"]), ("scorer.yaml", ["SenderEmail", "TrainerEmail"])])
def test_the_templates_refuse_the_shipped_placeholders_too(name, params):
    template = load(name)
    defaults = yaml.safe_load((PLAYBOOKS / "group_vars" / "all.yml").read_text())
    asserted = {}
    for rule in template["Rules"].values():
        for assertion in rule["Assertions"]:
            listed, ref = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"]
            asserted[ref["Ref"]] = listed
    for param in params:
        assert defaults["sender_email"] in asserted[param] and defaults["trainer_email"] in asserted[param]
        assert {"me@example.org", "trainer@example.org"} <= set(asserted[param])


# ---- student keys in API Gateway ---------------------------------------------------------------------
def test_api_gateways_copy_of_the_student_keys_is_optional():
    api = load("api.yaml")
    assert api["Resources"]["UsagePlan"]["Condition"] == "GatewayKeys"
    assert api["Outputs"]["UsagePlanId"]["Condition"] == "GatewayKeys"
    assert api["Outputs"]["StudentKeysInApiGateway"]["Value"] == {"Ref": "StudentKeysInApiGateway"}
    assert "plaintext" in api["Parameters"]["StudentKeysInApiGateway"]["Description"]


# ---- scanners agree --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["storage.yaml", "api.yaml", "scorer.yaml"])
def test_every_skipped_checkov_check_says_why(name):
    for logical, resource in load(name)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (logical, skip)
            assert len(skip.get("comment", "")) >= 40, (logical, skip["id"])

"""Structural checks of the CloudFormation templates.

moto's CloudFormation skips API keys, usage plans, stages, bucket policies, schedules and
alarms, and ignores bucket versioning and public access blocks, so the properties that
make the deployment safe are asserted here on the templates themselves.
Run: pytest cloudformation/tests (scripts/checks/30-cfn-lint.sh does).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
import yaml

TEMPLATES = Path(__file__).resolve().parents[1]
ROOT_DIR = TEMPLATES.parent
BUCKET_ARN = "arn:aws:s3:::COURSE-BUCKET"
sys.path.insert(0, str(TEMPLATES.parent / "scripts" / "iam"))
import iam_eval  # noqa: E402  (the evaluator the IAM check's moto uses: Deny, NotResource, conditions)


# ---- loading: CloudFormation short-form tags become their long form -------------------
class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def load(name: str) -> dict:
    return yaml.load((TEMPLATES / name).read_text(), Loader=CfnLoader)  # noqa: S506 (SafeLoader subclass)


@pytest.fixture(scope="module")
def storage() -> dict:
    return load("storage.yaml")


@pytest.fixture(scope="module")
def api() -> dict:
    return load("api.yaml")


@pytest.fixture(scope="module")
def scorer() -> dict:
    return load("scorer.yaml")


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# ---- a small resolver: enough to turn policy resources into concrete ARNs ---------------
def resolve(value, conditions: dict[str, bool]):
    """Resolves intrinsics to plain strings; the course bucket's ARN becomes BUCKET_ARN."""
    if isinstance(value, list):
        out = []
        for v in value:
            r = resolve(v, conditions)
            if r is not None:
                out.append(r)
        return out
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return None if arg == "AWS::NoValue" else "${" + arg + "}"
        if key == "Fn::ImportValue":
            name = resolve(arg, conditions)
            assert name.startswith("${StorageStackName}-"), name
            return {"BucketArn": BUCKET_ARN, "BucketName": "COURSE-BUCKET",
                    "ArtifactsBucketName": "ARTIFACTS-BUCKET"}[name.split("-", 1)[1]]
        if key == "Fn::If":
            cond, yes, no = arg
            return resolve(yes if conditions[cond] else no, conditions)
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else arg
            for var, var_value in variables.items():
                template = template.replace("${" + var + "}", str(resolve(var_value, conditions)))
            return template
        if key == "Fn::GetAtt":
            return f"{arg[0]}.{arg[1]}"
    resolved = {k: resolve(v, conditions) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not None}  # AWS::NoValue drops the key


def condition_cases(template: dict):
    names = sorted(template.get("Conditions", {}))
    for values in itertools.product([False, True], repeat=len(names)):
        yield dict(zip(names, values))


def statements(template: dict, role: str, conditions: dict[str, bool]):
    """Every statement that applies to a role: its inline policies plus AWS::IAM::Policy
    resources attached to it (when their condition holds)."""
    docs = []
    props = template["Resources"][role]["Properties"]
    for policy in resolve(props.get("Policies", []), conditions):
        docs.append(policy["PolicyDocument"])
    for name, res in resources_of(template, "AWS::IAM::Policy").items():
        if "Condition" in res and not conditions[res["Condition"]]:
            continue
        if {"Ref": role} in res["Properties"]["Roles"]:
            docs.append(resolve(res["Properties"]["PolicyDocument"], conditions))
    assert not props.get("ManagedPolicyArns"), f"{role}: managed policies would escape these checks"
    for doc in docs:
        yield from doc["Statement"]


def can(template: dict, role: str, action: str, resource: str, conditions: dict[str, bool],
        context: dict[str, str] | None = None) -> bool:
    """Allowed by some statement and denied by none, with the request's condition keys."""
    docs = [{"Statement": list(statements(template, role, conditions))}]
    return iam_eval.decide(docs, action, [resource], context or {}).allowed


def obj(key: str) -> str:
    return f"{BUCKET_ARN}/{key}"


FUNCTION_ROLES = {
    "api.yaml": ["ListTestsRole", "GetTestRole", "UploadAnswersRole"],
    "scorer.yaml": ["ScorerRole"],
}
ANSWER_KEY = obj("operating-systems/test01/questionsKey.json")


# ---- API: every method needs an API key; exactly the contract's routes --------------------
def method_paths(api: dict) -> dict[tuple[str, str], dict]:
    res = api["Resources"]

    def path_of(ref) -> str:
        if ref == {"Fn::GetAtt": ["RestApi", "RootResourceId"]}:
            return ""
        node = res[ref["Ref"]]["Properties"]
        return path_of(node["ParentId"]) + "/" + node["PathPart"]

    return {
        (path_of(m["Properties"]["ResourceId"]), m["Properties"]["HttpMethod"]): m["Properties"]
        for m in resources_of(api, "AWS::ApiGateway::Method").values()
    }


def test_every_api_method_requires_an_api_key(api):
    methods = method_paths(api)
    assert methods, "no methods found"
    for route, props in methods.items():
        # API Gateway's copy of the student keys is optional (StudentKeysInApiGateway).
        assert props["ApiKeyRequired"] == {"Fn::If": ["GatewayKeys", True, False]}, route
    assert api["Parameters"]["StudentKeysInApiGateway"]["Default"] == "true"
    assert api["Conditions"]["GatewayKeys"] == {"Fn::Equals": [{"Ref": "StudentKeysInApiGateway"}, "true"]}


def test_the_api_serves_exactly_the_contract_routes_through_lambda_proxy(api):
    methods = method_paths(api)
    expected = {
        ("/api/v1/tests", "POST"): "ListTestsFunction",
        ("/api/v1/test", "GET"): "GetTestFunction",
        ("/api/v1/test", "POST"): "UploadAnswersFunction",
    }
    assert set(methods) == set(expected)
    for route, function in expected.items():
        integration = methods[route]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        # The `live` alias, never the unqualified function ($LATEST).
        alias = function.replace("Function", "Alias")
        assert integration["Uri"]["Fn::Sub"].endswith("/functions/${" + alias + "}/invocations")


def test_the_usage_plan_throttles_the_stage_and_access_logs_are_on(api):
    plan = next(iter(resources_of(api, "AWS::ApiGateway::UsagePlan").values()))["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestApi"}, "Stage": {"Ref": "Stage"}}]
    assert plan["Throttle"] == {"BurstLimit": {"Ref": "ThrottleBurstLimit"}, "RateLimit": {"Ref": "ThrottleRateLimit"}}
    stage = api["Resources"]["Stage"]["Properties"]
    assert stage["StageName"] == {"Ref": "StageName"}
    assert api["Parameters"]["StageName"]["Default"] == "api"
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}
    assert "$context.requestId" in stage["AccessLogSetting"]["Format"]


def test_the_api_stack_outputs_what_the_trainer_reads(api):
    outputs = api["Outputs"]
    for name in ["ApiUrl", "ApiId", "UsagePlanId", "BucketName",
                 "ListTestsFunctionName", "GetTestFunctionName", "UploadAnswersFunctionName"]:
        assert name in outputs, name
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"}
    assert outputs["UsagePlanId"]["Value"] == {"Ref": "UsagePlan"}


def test_the_scorer_stack_outputs_its_function_name(scorer):
    assert scorer["Outputs"]["ScorerFunctionName"]["Value"] == {"Ref": "ScorerFunction"}


# ---- functions ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["api.yaml", "scorer.yaml"])
def test_functions_run_on_al2023_with_json_logs_kept_for_a_while(name):
    template = load(name)
    functions = resources_of(template, "AWS::Lambda::Function")
    assert len(functions) == len(FUNCTION_ROLES[name])
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    for logical, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "provided.al2023", logical
        assert props["Handler"] == "bootstrap", logical
        assert props["Architectures"] == [{"Ref": "Architecture"}], logical
        assert props["LoggingConfig"]["LogFormat"] == "JSON", logical
        group = template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
        assert props["Environment"]["Variables"]["EWORK_BUCKET"] == {
            "Fn::ImportValue": {"Fn::Sub": "${StorageStackName}-BucketName"}}, logical
        assert props["Role"]["Fn::GetAtt"][0] in FUNCTION_ROLES[name], logical


# ---- least privilege -----------------------------------------------------------------------
def all_roles():
    for name, roles in FUNCTION_ROLES.items():
        template = load(name)
        # Every role in the template is accounted for (no role with wider rights hiding).
        extra = set(resources_of(template, "AWS::IAM::Role")) - set(roles) - {"ApiGatewayCloudWatchRole", "SchedulerRole"}
        assert not extra, f"unchecked roles in {name}: {extra}"
        for role in roles:
            for conditions in condition_cases(template):
                yield template, role, conditions


def test_no_role_but_the_scorers_can_read_an_answer_key():
    checked = 0
    for template, role, conditions in all_roles():
        readable = can(template, role, "s3:GetObject", ANSWER_KEY, conditions)
        assert readable == (role == "ScorerRole"), f"{role} under {conditions}: reads answer key = {readable}"
        checked += 1
    assert checked >= 4


def test_helper_roles_touch_no_course_data():
    for name in FUNCTION_ROLES:
        template = load(name)
        for role in {"ApiGatewayCloudWatchRole", "SchedulerRole"} & set(template["Resources"]):
            props = template["Resources"][role]["Properties"]
            for policy in props.get("Policies", []):
                for stmt in policy["PolicyDocument"]["Statement"]:
                    actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
                    assert not any(a.startswith("s3:") for a in actions), role
            for arn in props.get("ManagedPolicyArns", []):
                assert "AmazonAPIGatewayPushToCloudWatchLogs" in arn["Fn::Sub"], role


# (role, action, key, allowed) - what each handler needs, and a few things it must not do.
# Keys: the API functions look a request's key up as _system/keys/<sha256>; the per-student
# keyrings (_system/keyring/) and the old single registry (_system/keys.json) are not theirs.
KEY_RECORD = "_system/keys/" + "ab" * 32
KEYRING = "_system/keyring/student01.json"
OLD_REGISTRY = "_system/keys.json"
SUBMISSION = "operating-systems/test01/student01/testResult.json"
ACCESS = [
    ("ListTestsRole", "s3:GetObject", "studentsList.json", True),
    ("ListTestsRole", "s3:GetObject", "_system/catalog.json", True),
    ("ListTestsRole", "s3:GetObject", KEY_RECORD, True),
    ("ListTestsRole", "s3:GetObject", KEYRING, False),
    ("ListTestsRole", "s3:GetObject", OLD_REGISTRY, False),
    ("ListTestsRole", "s3:GetObject", SUBMISSION, True),
    ("ListTestsRole", "s3:GetObject", "operating-systems/test01/questions.json", False),
    ("ListTestsRole", "s3:PutObject", SUBMISSION, False),
    ("GetTestRole", "s3:GetObject", "operating-systems/test01/questions.json", True),
    ("GetTestRole", "s3:GetObject", "_system/catalog.json", True),
    ("GetTestRole", "s3:GetObject", KEY_RECORD, True),
    ("GetTestRole", "s3:GetObject", KEYRING, False),
    ("GetTestRole", "s3:GetObject", OLD_REGISTRY, False),
    ("GetTestRole", "s3:GetObject", "studentsList.json", True),
    # GET /test returns the caller's stored answers and receipt.
    ("GetTestRole", "s3:GetObject", SUBMISSION, True),
    ("GetTestRole", "s3:GetObject", "_system/results/operating-systems/test01/results.json", False),
    ("GetTestRole", "s3:PutObject", "operating-systems/test01/questions.json", False),
    ("UploadAnswersRole", "s3:GetObject", "operating-systems/test01/questions.json", True),
    ("UploadAnswersRole", "s3:GetObject", KEY_RECORD, True),
    ("UploadAnswersRole", "s3:GetObject", KEYRING, False),
    ("UploadAnswersRole", "s3:GetObject", SUBMISSION, True),
    ("UploadAnswersRole", "s3:PutObject", SUBMISSION, True),
    # The receipt lives inside testResult.json now; nothing else is written.
    ("UploadAnswersRole", "s3:PutObject", "operating-systems/test01/student01/receipt.json", False),
    ("UploadAnswersRole", "s3:PutObject", "_system/results/operating-systems/test01/results.json", False),
    # Shaped like a submission (IAM's * spans "/"), but under _system/: denied explicitly.
    ("UploadAnswersRole", "s3:PutObject", "_system/results/x/testResult.json", False),
    ("UploadAnswersRole", "s3:PutObject", "operating-systems/test01/questions.json", False),
    ("UploadAnswersRole", "s3:PutObject", OLD_REGISTRY, False),
    ("UploadAnswersRole", "s3:PutObject", KEY_RECORD, False),
    ("UploadAnswersRole", "s3:PutObject", "studentsList.json", False),
    ("ScorerRole", "s3:GetObject", SUBMISSION, True),
    ("ScorerRole", "s3:GetObject", "operating-systems/test01/questionsKey.json", True),
    ("ScorerRole", "s3:GetObject", "_system/results/os/t1/results.json", True),
    ("ScorerRole", "s3:GetObject", "_system/journal/p/w000001", True),
    ("ScorerRole", "s3:GetObject", "_system/rescore/os/t1", True),
    ("ScorerRole", "s3:GetObject", "_system/scorer/lease/00000000000000000001", True),
    ("ScorerRole", "s3:GetObject", KEY_RECORD, False),
    ("ScorerRole", "s3:GetObject", KEYRING, False),
    ("ScorerRole", "s3:PutObject", "_system/results/os/t1/results.json", True),
    ("ScorerRole", "s3:PutObject", "_system/journal/p/w000001", True),
    ("ScorerRole", "s3:PutObject", "_system/rescore/os/t1", True),
    ("ScorerRole", "s3:PutObject", "_system/scorer/lease/00000000000000000001", True),
    ("ScorerRole", "s3:PutObject", KEY_RECORD, False),
    ("ScorerRole", "s3:PutObject", KEYRING, False),
    ("ScorerRole", "s3:PutObject", OLD_REGISTRY, False),
    ("ScorerRole", "s3:PutObject", "_system/catalog.json", False),
    ("ScorerRole", "s3:PutObject", "studentsList.json", False),
    ("ScorerRole", "s3:PutObject", "operating-systems/test01/student01/score.json", False),
    ("ScorerRole", "s3:PutObject", SUBMISSION, False),
    ("ScorerRole", "s3:PutObject", "operating-systems/test01/questionsKey.json", False),
    ("ScorerRole", "s3:DeleteObject", SUBMISSION, False),
    ("ScorerRole", "s3:DeleteObjectVersion", "_system/journal/p/w000001", True),
    ("ScorerRole", "s3:DeleteObjectVersion", SUBMISSION, False),
    ("ScorerRole", "s3:DeleteObjectVersion", "_system/results/os/t1/results.json", False),
]


@pytest.mark.parametrize("role,action,key,allowed", ACCESS)
def test_each_role_has_exactly_the_object_access_its_handler_needs(role, action, key, allowed):
    template = load("scorer.yaml" if role == "ScorerRole" else "api.yaml")
    for conditions in condition_cases(template):
        assert can(template, role, action, obj(key), conditions) == allowed, (role, action, key, conditions)


@pytest.mark.parametrize("role", ["ListTestsRole", "GetTestRole", "UploadAnswersRole", "ScorerRole"])
def test_every_function_may_list_the_bucket_so_missing_keys_are_404_not_403(role):
    template = load("scorer.yaml" if role == "ScorerRole" else "api.yaml")
    assert can(template, role, "s3:ListBucket", BUCKET_ARN, dict.fromkeys(template["Conditions"], False))


@pytest.mark.parametrize("name,role,writes", [
    ("api.yaml", "ListTestsRole", False), ("api.yaml", "GetTestRole", False),
    ("api.yaml", "UploadAnswersRole", True), ("scorer.yaml", "ScorerRole", True)])
def test_kms_rights_exist_only_with_a_key_and_match_reading_or_writing(name, role, writes):
    template = load(name)
    for conditions in condition_cases(template):
        key = "${KmsKeyArn}"
        via_s3 = {"kms:ViaService": "s3.${AWS::Region}.amazonaws.com"}
        assert can(template, role, "kms:Decrypt", key, conditions, via_s3) == conditions["UseKms"]
        assert can(template, role, "kms:GenerateDataKey", key, conditions, via_s3) == (conditions["UseKms"] and writes)
        # The key works only through S3, not when called directly.
        assert not can(template, role, "kms:Decrypt", key, conditions)


def test_the_scorer_sends_email_only_as_the_configured_identity(scorer):
    for conditions in condition_cases(scorer):
        identity = "${SenderEmail}" if conditions["IdentityIsSender"] else "${SesIdentity}"
        region = "${AWS::Region}" if conditions["SesInOwnRegion"] else "${SesRegion}"
        own = f"arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/{identity}"
        for action in ["ses:SendRawEmail", "ses:SendEmail"]:
            assert can(scorer, "ScorerRole", action, own, conditions)
            assert not can(scorer, "ScorerRole", action,
                           f"arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/someone-else@example.org", conditions)
        # Reading the sending quota is the only other SES right.
        assert can(scorer, "ScorerRole", "ses:GetAccount", "*", conditions)
        assert not can(scorer, "ScorerRole", "ses:CreateEmailIdentity", "*", conditions)


# ---- the scorer's journal fold and its write prefixes -----------------------------------------
def test_the_scorer_may_list_and_purge_versions_of_its_journal_only(scorer):
    for conditions in condition_cases(scorer):
        lists = lambda prefix: can(scorer, "ScorerRole", "s3:ListBucketVersions", BUCKET_ARN, conditions,  # noqa: E731
                                   {} if prefix is None else {"s3:prefix": prefix})
        # S3Store::purge lists the versions of one journal wave with its key as the prefix.
        assert lists("_system/journal/20991201T120000Z-abc/w000001")
        assert not lists("operating-systems/")
        assert not lists("_system/")
        assert not lists("")
        assert not lists(None)
        assert can(scorer, "ScorerRole", "s3:DeleteObjectVersion", obj("_system/journal/p/w000001"), conditions)
        assert not can(scorer, "ScorerRole", "s3:DeleteObjectVersion", obj(SUBMISSION), conditions)


def test_the_list_bucket_versions_grant_is_conditioned_on_the_journal_prefix(scorer):
    stmts = [s for s in statements(scorer, "ScorerRole", dict.fromkeys(scorer["Conditions"], False))
             if "s3:ListBucketVersions" in iam_eval.as_list(s["Action"])]
    assert len(stmts) == 1
    assert stmts[0]["Condition"] == {"StringLike": {"s3:prefix": "_system/journal/*"}}


def test_no_scorer_write_covers_all_of_system(scorer):
    for conditions in condition_cases(scorer):
        for stmt in statements(scorer, "ScorerRole", conditions):
            if stmt["Effect"] != "Allow" or not any(a.startswith("s3:") for a in iam_eval.as_list(stmt["Action"])):
                continue
            for resource in iam_eval.as_list(stmt["Resource"]):
                written = set(iam_eval.as_list(stmt["Action"])) & {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:*"}
                assert not (written and resource in (obj("*"), obj("_system/*"))), (stmt, resource)


@pytest.mark.parametrize("key", [KEY_RECORD, KEYRING, OLD_REGISTRY])
def test_no_function_can_write_or_delete_student_keys(key):
    checked = 0
    for template, role, conditions in all_roles():
        for action in ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]:
            assert not can(template, role, action, obj(key), conditions), (role, action, key, conditions)
            checked += 1
    assert checked >= 12


def test_api_functions_find_a_key_by_its_hash_not_in_a_keyring():
    for template, role, conditions in all_roles():
        if role == "ScorerRole":
            continue
        assert can(template, role, "s3:GetObject", obj(KEY_RECORD), conditions), role
        assert not can(template, role, "s3:GetObject", obj(KEYRING), conditions), role
        assert not can(template, role, "s3:GetObject", obj(OLD_REGISTRY), conditions), role


# ---- the trainer's managed policies -----------------------------------------------------------
def managed(template: dict, logical: str, conditions: dict[str, bool]) -> list[dict]:
    res = template["Resources"][logical]
    assert res["Type"] == "AWS::IAM::ManagedPolicy"
    return resolve(res["Properties"]["PolicyDocument"], conditions)["Statement"]


def trainer_can(statements_: list[dict], action: str, resource: str) -> bool:
    return iam_eval.decide([{"Statement": statements_}], action, [resource], {}).allowed


def test_the_trainer_policy_covers_what_trainer_stack_calls(api):
    for conditions in condition_cases(api):
        stmts = managed(api, "TrainerPolicy", conditions)
        stack = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/0f1e"
        assert trainer_can(stmts, "cloudformation:DescribeStacks", stack)
        assert not trainer_can(stmts, "cloudformation:DescribeStacks", stack.replace("${AWS::StackName}", "other"))
        for action in ["s3:ListBucket", "s3:ListBucketVersions"]:
            assert trainer_can(stmts, action, BUCKET_ARN)
        for key in [KEY_RECORD, KEYRING, "_system/catalog.json", "studentsList.json", SUBMISSION,
                    "_system/rescore/os/t1", "_system/results/os/t1/results.json"]:
            for action in ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObjectVersion"]:
                assert trainer_can(stmts, action, obj(key)), (action, key)
        gateway = "arn:${AWS::Partition}:apigateway:${AWS::Region}::"
        if not conditions["GatewayKeys"]:
            # No API Gateway copy of the keys: no right to make one.
            assert not trainer_can(stmts, "apigateway:POST", gateway + "/apikeys")
            continue
        assert trainer_can(stmts, "apigateway:POST", gateway + "/apikeys")
        assert trainer_can(stmts, "apigateway:POST", gateway + "/usageplans/${UsagePlan}/keys")
        assert trainer_can(stmts, "apigateway:DELETE", gateway + "/apikeys/k123")
        assert trainer_can(stmts, "apigateway:DELETE", gateway + "/usageplans/${UsagePlan}/keys/k123")
        assert not trainer_can(stmts, "apigateway:POST", gateway + "/usageplans/other/keys")
        assert not trainer_can(stmts, "apigateway:DELETE", gateway + "/restapis/abc")
        for action in ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"]:
            assert not trainer_can(stmts, action, BUCKET_ARN), action
        assert not any(a.startswith("kms:") for s in stmts for a in iam_eval.as_list(s["Action"]))


def test_with_a_kms_key_the_trainer_gets_it_through_s3_only(api):
    policy = api["Resources"]["TrainerKmsPolicy"]
    assert policy["Condition"] == "UseKms"
    assert api["Outputs"]["TrainerKmsPolicyArn"] == {
        "Condition": "UseKms", "Description": api["Outputs"]["TrainerKmsPolicyArn"]["Description"],
        "Value": {"Ref": "TrainerKmsPolicy"}}
    stmts = managed(api, "TrainerKmsPolicy", dict.fromkeys(api["Conditions"], True))
    via_s3 = {"kms:ViaService": "s3.${AWS::Region}.amazonaws.com"}
    for action in ["kms:Decrypt", "kms:GenerateDataKey"]:
        assert trainer_can(stmts, action, "${KmsKeyArn}") is False  # not directly
        assert iam_eval.decide([{"Statement": stmts}], action, ["${KmsKeyArn}"], via_s3).allowed


def test_the_trainer_policies_are_outputs(api, scorer):
    assert api["Outputs"]["TrainerPolicyArn"]["Value"] == {"Ref": "TrainerPolicy"}
    assert scorer["Outputs"]["TrainerScorePolicyArn"]["Value"] == {"Ref": "TrainerScorePolicy"}


def test_trainer_score_sends_only_as_the_scorers_identity(scorer):
    for conditions in condition_cases(scorer):
        stmts = managed(scorer, "TrainerScorePolicy", conditions)
        identity = "${SenderEmail}" if conditions["IdentityIsSender"] else "${SesIdentity}"
        region = "${AWS::Region}" if conditions["SesInOwnRegion"] else "${SesRegion}"
        own = f"arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/{identity}"
        assert trainer_can(stmts, "ses:SendEmail", own)
        assert not trainer_can(stmts, "ses:SendEmail", own.replace(identity, "someone@example.org"))
        assert trainer_can(stmts, "ses:GetAccount", "*")
        # trainer score --stack reads the sender and SES settings from this stack only.
        stack = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/0f1e"
        assert trainer_can(stmts, "cloudformation:DescribeStacks", stack)
        assert not trainer_can(stmts, "cloudformation:DescribeStacks", stack.replace("${AWS::StackName}", "other"))
        assert not any(a.startswith("s3:") for s in stmts for a in iam_eval.as_list(s["Action"]))


# ---- schedule -------------------------------------------------------------------------------
# The domain's GRADING_GRACE (functions/domain/src/deadline.rs), in minutes.
GRADING_GRACE_MINUTES = 5


def test_the_grace_in_this_test_is_the_domains():
    source = (TEMPLATES.parent / "functions" / "domain" / "src" / "deadline.rs").read_text()
    assert f"GRADING_GRACE: Duration = Duration::minutes({GRADING_GRACE_MINUTES});" in source


def schedule_minutes(expr: str) -> list[int]:
    """The minutes of an hour an EventBridge cron expression fires at, for one that
    fires every hour of every day (`cron(M * * * ? *)`, M a list or `start/step`)."""
    minute, hour, dom, month, dow, year = expr.removeprefix("cron(").removesuffix(")").split()
    assert (hour, dom, month, dow, year) == ("*", "*", "*", "?", "*"), expr
    if "/" in minute:
        start, step = map(int, minute.split("/"))
        return list(range(start, 60, step))
    return sorted(int(m) for m in minute.split(","))


def test_the_schedule_parser_reads_the_forms_it_claims():
    assert schedule_minutes("cron(5/15 * * * ? *)") == [5, 20, 35, 50]
    assert schedule_minutes("cron(5 * * * ? *)") == [5]
    assert schedule_minutes("cron(50,5 * * * ? *)") == [5, 50]
    with pytest.raises(AssertionError):
        schedule_minutes("cron(5 23 ? * MON *)")


def latest_grading(close_minute: int, runs: list[int]) -> int:
    """Minutes from a close at `close_minute` past the hour to the first pass at or
    after the close plus the grace."""
    ready = close_minute + GRADING_GRACE_MINUTES
    return min((m - ready) % 60 for m in runs) + GRADING_GRACE_MINUTES


def test_the_scorer_runs_every_quarter_hour_at_the_grace_in_the_trainers_zone(scorer):
    schedule = scorer["Resources"]["ScoringSchedule"]["Properties"]
    runs = schedule_minutes(schedule["ScheduleExpression"])
    # A close on the hour or a quarter past, half past or to (the default Monday 23:00,
    # an extension, extra time in hours) is graded exactly at the end of its grace...
    assert runs == [(q + GRADING_GRACE_MINUTES) % 60 for q in (0, 15, 30, 45)]
    for close in (0, 15, 30, 45):
        assert latest_grading(close, runs) == GRADING_GRACE_MINUTES, close
    # ...and any other close within 20 minutes (hand-computed: a close at :01 waits
    # for :20, 19 minutes; at :16 for :35).
    assert latest_grading(1, runs) == 19 and latest_grading(16, runs) == 19
    # In whole minutes the worst is a minute past a quarter: 14 minutes' wait plus the grace.
    assert max(latest_grading(c, runs) for c in range(60)) == 14 + GRADING_GRACE_MINUTES
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
    assert scorer["Parameters"]["TimeZone"]["Default"] == "Europe/Warsaw"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == {"Ref": "ScorerAlias"}
    assert target["Input"] == "{}"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    # Retrying an invocation past the next pass would only step aside for it.
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 15 * 60
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert scorer["Outputs"]["ScheduleName"]["Value"] == schedule["Name"]


def test_a_pass_ends_before_the_lease_blocks_the_next_one_for_long(scorer):
    # The function's longest run fits between two passes, so an overlap (a retry, a
    # manual pass) costs one skipped pass, never a backlog.
    timeout = scorer["Parameters"]["FunctionTimeout"]
    assert timeout["MaxValue"] <= 15 * 60


def test_old_scorer_leases_expire_so_a_pass_lists_few(storage):
    rules = storage["Resources"]["CourseBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    lease = [r for r in rules if r.get("Prefix") == "_system/scorer/lease/"]
    assert len(lease) == 1 and lease[0]["Status"] == "Enabled"
    assert lease[0]["ExpirationInDays"] == 1
    source = (TEMPLATES.parent / "functions" / "domain" / "src" / "layout.rs").read_text()
    assert 'pub const LEASE_PREFIX: &str = "_system/scorer/lease/";' in source


def test_an_upload_cannot_outlast_half_the_grading_grace(api):
    # An upload acknowledged before the deadline must have written before the scorer
    # starts: its function's longest run (plus clock skew) stays far inside the grace.
    timeout = api["Parameters"]["FunctionTimeout"]
    assert timeout["MaxValue"] <= 29
    assert timeout["MaxValue"] + 60 < GRADING_GRACE_MINUTES * 60 / 2


def test_failed_scoring_runs_reach_the_dead_letter_queue_and_raise_alarms(scorer):
    config = next(iter(resources_of(scorer, "AWS::Lambda::EventInvokeConfig").values()))["Properties"]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    # The schedule invokes the alias, so the retries and destination are the alias's.
    assert config["Qualifier"] == "live"
    metrics = {a["Properties"].get("MetricName") for a in resources_of(scorer, "AWS::CloudWatch::Alarm").values()}
    assert {"ApproximateNumberOfMessagesVisible", "Errors", "Throttles"} <= metrics


# ---- storage --------------------------------------------------------------------------------
BUCKETS = ["CourseBucket", "ArtifactsBucket", "AccessLogsBucket"]


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_block_all_public_access_and_keep_versions(storage, bucket):
    props = storage["Resources"][bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["Status"] == "Enabled" and "NoncurrentDays" in rule["NoncurrentVersionExpiration"]
    assert storage["Resources"][bucket]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("use_kms,algorithm", [(False, "AES256"), (True, "aws:kms")])
def test_the_course_bucket_encrypts_by_default(storage, use_kms, algorithm):
    props = resolve(storage["Resources"]["CourseBucket"]["Properties"], {"UseKms": use_kms,
                    "NameCourseBucket": False, "NameArtifactsBucket": False})
    default = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == algorithm
    assert ("KMSMasterKeyID" in default) == use_kms


@pytest.mark.parametrize("bucket,policy", [("CourseBucket", "CourseBucketPolicy"), ("ArtifactsBucket", "ArtifactsBucketPolicy"),
                                           ("AccessLogsBucket", "AccessLogsBucketPolicy")])
def test_bucket_policies_deny_every_request_without_tls(storage, bucket, policy):
    props = storage["Resources"][policy]["Properties"]
    assert props["Bucket"] == {"Ref": bucket}
    tls = [s for s in resolve(props["PolicyDocument"], {"UseKms": True})["Statement"]
           if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert len(tls) == 1
    assert tls[0]["Principal"] == "*" and tls[0]["Action"] == "s3:*"
    assert f"{bucket}.Arn" in tls[0]["Resource"]
    assert "${" + bucket + ".Arn}/*" in tls[0]["Resource"]


@pytest.mark.parametrize("use_kms,algorithm", [(False, "AES256"), (True, "aws:kms")])
def test_the_course_bucket_policy_denies_puts_without_the_expected_encryption(storage, use_kms, algorithm):
    statements = resolve(storage["Resources"]["CourseBucketPolicy"]["Properties"]["PolicyDocument"],
                         {"UseKms": use_kms})["Statement"]
    puts = [s for s in statements if s["Effect"] == "Deny" and s["Action"] == "s3:PutObject"]
    assert any(s["Condition"].get("Null", {}).get("s3:x-amz-server-side-encryption") == "true" for s in puts)
    assert any(s["Condition"].get("StringNotEquals", {}).get("s3:x-amz-server-side-encryption") == algorithm
               for s in puts)


def test_the_storage_stack_exports_what_the_other_stacks_import(storage, api, scorer):
    exported = {o["Export"]["Name"]["Fn::Sub"] for o in storage["Outputs"].values() if "Export" in o}
    imported = set()

    def walk(node):
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                imported.add(node["Fn::ImportValue"]["Fn::Sub"].replace("${StorageStackName}", "${AWS::StackName}"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(api)
    walk(scorer)
    assert imported and imported <= exported, imported - exported


def test_the_scorer_gets_its_grading_and_journal_settings_from_parameters(scorer):
    fn = next(iter(resources_of(scorer, "AWS::Lambda::Function").values()))
    env = fn["Properties"]["Environment"]["Variables"]
    assert env["EWORK_MAX_GRADE"] == {"Ref": "MaxGrade"}
    assert env["EWORK_LEDGER_BATCH"] == {"Ref": "LedgerBatch"}
    batch = scorer["Parameters"]["LedgerBatch"]
    assert batch["Default"] == 16 and batch["MinValue"] == 1

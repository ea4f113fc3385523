"""Tests of the IAM check's own parts (scripts/iam): the template renderer and the
policy evaluator that judges conditions moto ignores. A lenient evaluator or a renderer
that guesses would make scripts/checks/47-iam-moto.sh pass where AWS refuses.
Run: pytest cloudformation/tests (scripts/checks/30-cfn-lint.sh does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "iam"))
import iam_eval  # noqa: E402
import render  # noqa: E402

BUCKET = "ework-course-test"


def renderer(template: str, stack: str, **extra) -> render.Renderer:
    params = {"StorageStackName": "st"}
    params.update(extra.pop("parameters", {}))
    ctx = render.Context(stack_name=stack, parameters=params,
                         imports=render.storage_imports("st", BUCKET), **extra)
    return render.Renderer(render.load(ROOT / "cloudformation" / template), ctx)


def scorer(**parameters) -> render.Renderer:
    params = {"CodeKey": "s.zip", "SenderEmail": "scorer@example.com", "TrainerEmail": "t@example.com"}
    params.update(parameters)
    return renderer("scorer.yaml", "sc", parameters=params,
                    attrs={"ScorerLogGroup.Arn": "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/sc:*",
                           "DeadLetterQueue.Arn": "arn:aws:sqs:eu-central-1:123456789012:sc-dlq"})


def strings_only(node) -> bool:
    if isinstance(node, dict):
        return all(not k.startswith("Fn::") and k != "Ref" and strings_only(v) for k, v in node.items())
    if isinstance(node, list):
        return all(strings_only(v) for v in node)
    return isinstance(node, str)


# ---- render ---------------------------------------------------------------------------------
def test_a_rendered_role_policy_is_plain_json_for_the_given_bucket_account_and_region():
    policies = scorer().role_policies("ScorerRole")
    assert set(policies) == {"logs", "course-bucket", "ses", "dead-letter", "xray"}
    assert strings_only(policies)
    text = json.dumps(policies)
    assert f"arn:aws:s3:::{BUCKET}/_system/journal/*" in text
    assert "arn:aws:ses:eu-central-1:123456789012:identity/scorer@example.com" in text
    assert "${" not in text


def test_a_conditional_inline_policy_is_left_out_when_its_condition_is_false():
    assert "xray" not in scorer(Tracing="PassThrough").role_policies("ScorerRole")


def test_conditions_pick_the_branch_a_stack_would_get():
    same = json.dumps(scorer().role_policies("ScorerRole")["ses"])
    other = json.dumps(scorer(SesRegion="eu-west-1", SesIdentity="example.com",
                              SesConfigurationSet="cs").role_policies("ScorerRole")["ses"])
    assert "eu-central-1:123456789012:identity/scorer@example.com" in same
    assert "eu-west-1:123456789012:identity/example.com" in other
    assert "configuration-set/cs" in other and "configuration-set" not in same


def test_policies_attached_to_a_role_only_under_their_condition_are_rendered_with_it():
    assert "kms-read-write" not in scorer().role_policies("ScorerRole")
    kms = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with_kms = scorer(KmsKeyArn=kms).role_policies("ScorerRole")
    assert with_kms["kms-read-write"]["Statement"][0]["Resource"] == kms


def test_the_trainer_policy_drops_the_kms_statement_without_a_key():
    r = renderer("api.yaml", "api", parameters={"ListTestsCodeKey": "a.zip", "GetTestCodeKey": "b.zip",
                                                 "UploadAnswersCodeKey": "c.zip"}, refs={"UsagePlan": "plan1"})
    doc = r.managed_policy("TrainerPolicy")
    assert strings_only(doc)
    assert not any("kms:Decrypt" in iam_eval.as_list(s["Action"]) for s in doc["Statement"])
    assert "arn:aws:apigateway:eu-central-1::/usageplans/plan1/keys" in json.dumps(doc)
    assert "arn:aws:cloudformation:eu-central-1:123456789012:stack/api/*" in json.dumps(doc)


def test_an_unknown_reference_is_an_error_not_a_guess():
    r = renderer("api.yaml", "api", parameters={"ListTestsCodeKey": "a.zip", "GetTestCodeKey": "b.zip",
                                                 "UploadAnswersCodeKey": "c.zip"})
    with pytest.raises(render.RenderError, match="UsagePlan"):
        r.managed_policy("TrainerPolicy")
    with pytest.raises(render.RenderError, match="ListTestsLogGroup"):
        r.role_policies("ListTestsRole")
    with pytest.raises(render.RenderError, match="not in the template"):
        renderer("api.yaml", "api", parameters={"NoSuchParameter": "x"})


# ---- evaluate -------------------------------------------------------------------------------
ALLOW_JOURNAL_VERSIONS = {
    "Effect": "Allow", "Action": "s3:ListBucketVersions", "Resource": "arn:aws:s3:::b",
    "Condition": {"StringLike": {"s3:prefix": "_system/journal/*"}},
}


@pytest.mark.parametrize("context,allowed", [
    ({"s3:prefix": "_system/journal/p/w000001"}, True),
    ({"s3:prefix": "_system/"}, False),
    ({"s3:prefix": ""}, False),
    ({}, False),  # a positive operator on a key the request lacks does not hold
])
def test_string_like_on_s3_prefix(context, allowed):
    docs = [{"Statement": [ALLOW_JOURNAL_VERSIONS]}]
    assert iam_eval.decide(docs, "s3:ListBucketVersions", ["arn:aws:s3:::b"], context).allowed == allowed


@pytest.mark.parametrize("context,denied", [
    ({}, True),
    ({"s3:x-amz-server-side-encryption": "AES256"}, False),
    ({"s3:x-amz-server-side-encryption": "aws:kms"}, True),
])
def test_the_bucket_policys_encryption_denies(context, denied):
    allow = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}
    deny_null = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
                 "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}}
    deny_other = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
                  "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}
    docs = [{"Statement": [allow]}, {"Statement": [deny_null, deny_other]}]
    assert iam_eval.decide(docs, "s3:PutObject", ["arn:aws:s3:::b/k"], context).allowed == (not denied)


def test_a_negated_operator_holds_when_the_key_is_missing_and_if_exists_skips_it():
    assert iam_eval.condition_holds({"StringNotEquals": {"k": "v"}}, {})
    assert iam_eval.condition_holds({"StringEqualsIfExists": {"k": "v"}}, {})
    assert not iam_eval.condition_holds({"StringEqualsIfExists": {"k": "v"}}, {"k": "w"})
    assert iam_eval.condition_holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:securetransport": "false"})


def test_an_operator_the_evaluator_does_not_know_fails_loudly():
    with pytest.raises(iam_eval.UnsupportedCondition):
        iam_eval.condition_holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"})
    with pytest.raises(iam_eval.UnsupportedCondition):
        iam_eval.condition_holds({"ForAnyValue:StringLike": {"k": "v"}}, {"k": "v"})


def test_deny_beats_allow_and_wildcards_span_slashes():
    allow = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*/*/*/testResult.json"}
    deny = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/_system/*"}
    docs = [{"Statement": [allow, deny]}]
    ok = lambda key: iam_eval.decide(docs, "s3:PutObject", [f"arn:aws:s3:::b/{key}"], {}).allowed  # noqa: E731
    assert ok("os/t1/s1/testResult.json")
    assert not ok("_system/a/b/testResult.json")
    assert iam_eval.decide([{"Statement": [allow]}], "s3:PutObject",
                           ["arn:aws:s3:::b/_system/a/b/testResult.json"], {}).allowed  # what the Deny is for
    assert not ok("os/t1/s1/receipt.json")


def test_not_resource_and_not_action_exclude():
    stmt = {"Effect": "Allow", "NotAction": "s3:Delete*", "NotResource": "arn:aws:s3:::b/_system/*"}
    docs = [{"Statement": [stmt]}]
    assert iam_eval.decide(docs, "s3:GetObject", ["arn:aws:s3:::b/x"], {}).allowed
    assert not iam_eval.decide(docs, "s3:DeleteObject", ["arn:aws:s3:::b/x"], {}).allowed
    assert not iam_eval.decide(docs, "s3:GetObject", ["arn:aws:s3:::b/_system/x"], {}).allowed


def test_actions_match_case_insensitively_but_resources_do_not():
    docs = [{"Statement": [{"Effect": "Allow", "Action": "S3:getobject", "Resource": "arn:aws:s3:::b/K"}]}]
    assert iam_eval.decide(docs, "s3:GetObject", ["arn:aws:s3:::b/K"], {}).allowed
    assert not iam_eval.decide(docs, "s3:GetObject", ["arn:aws:s3:::b/k"], {}).allowed


def test_every_resource_of_a_request_must_be_allowed():
    docs = [{"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:r:1:identity/a"}]}]
    assert iam_eval.decide(docs, "ses:SendEmail", ["arn:aws:ses:r:1:identity/a"], {}).allowed
    assert not iam_eval.decide(docs, "ses:SendEmail", ["arn:aws:ses:r:1:identity/a",
                                                       "arn:aws:ses:r:1:configuration-set/cs"], {}).allowed


def test_a_function_gets_the_environment_the_template_sets():
    env = scorer().function_environment("ScorerFunction")
    assert env["EWORK_BUCKET"] == BUCKET
    assert env["EWORK_SENDER"] == "scorer@example.com"
    assert env["EWORK_TIME_ZONE"] == "Europe/Warsaw"
    # Optional settings are absent unless given, as in a deployed stack.
    assert "EWORK_SEND_RATE" not in env and "EWORK_KMS_KEY_ID" not in env
    assert scorer(SendRate="3").function_environment("ScorerFunction")["EWORK_SEND_RATE"] == "3"

"""moto_server with IAM enforced closer to AWS, for scripts/checks/47-iam-moto.sh.

    INITIAL_NO_AUTH_ACTION_COUNT=3 EWORK_IAM_DECISIONS=decisions.jsonl \
        python scripts/iam/moto_iam.py -H 127.0.0.1 -p PORT

With INITIAL_NO_AUTH_ACTION_COUNT set, moto checks every request after the first N
against the caller's IAM user policies. What moto 5.2.5 evaluates, and what this
wrapper adds (moto/iam/access_control.py, moto/core/authorization.py):

- moto checks the signature, finds the user of the access key and collects its inline,
  attached and group policies; it matches Action and Resource (S3: the bucket or object
  ARN). That check runs first and unchanged, and must allow.
- moto authorizes SES, CloudFormation and API Gateway against Resource "*", and names
  API Gateway actions after operations (CreateApiKey) where IAM uses HTTP verbs
  (apigateway:POST on arn:aws:apigateway:REGION::/apikeys). Here moto's own check is
  given the resources AWS would authorize: the SES identity of the From address (and
  the configuration set), the stack's ARN, the API Gateway path.
- moto treats every Condition of an identity policy as met. A second gate
  (iam_eval.decide) evaluates the same documents with conditions over the request's
  context (s3:prefix, s3:x-amz-server-side-encryption, s3:versionid, s3:if-none-match),
  and adds the Deny statements of the course bucket's policy (EWORK_IAM_BUCKET_POLICIES,
  a JSON {bucket: policy document}), which moto does not evaluate at all. The harness
  speaks HTTP to 127.0.0.1, so aws:SecureTransport is taken as "true" (every SDK call in
  AWS uses TLS); the TLS deny statement is therefore not exercised.

Every decision is appended to EWORK_IAM_DECISIONS as one JSON line, so the check can
assert that a flow ran without a single refusal and that each refusal came from IAM.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import sys
import threading
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import iam_eval  # noqa: E402

_lock = threading.Lock()


def _record(entry: dict) -> None:
    path = os.environ.get("EWORK_IAM_DECISIONS")
    if not path:
        return
    with _lock, open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")


def _header(headers, name: str):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def _body_text(req) -> str:
    body = req._body
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body or ""


def _s3_facts(req, action: str, resource: str):
    query = parse_qs(urlparse(req._path).query, keep_blank_values=True)
    # HeadBucket is authorized as s3:ListBucket in AWS.
    if action == "s3:HeadBucket":
        action = "s3:ListBucket"
    context = {"aws:SecureTransport": "true"}
    if "prefix" in query:
        context["s3:prefix"] = query["prefix"][0]
    if "versionId" in query:
        context["s3:versionid"] = query["versionId"][0]
    for header in ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"]:
        value = _header(req._headers, header)
        if value is not None:
            context[f"s3:{header}"] = value
    for header in ["If-None-Match", "If-Match"]:
        value = _header(req._headers, header)
        if value is not None:
            context[f"s3:{header.lower()}"] = value
    return action, [unquote(resource)], context


def _ses_identity(account: str, region: str, address: str) -> str:
    from moto.ses.models import ses_backends

    backend = ses_backends[account][region]
    # SES authorizes against the identity it sends as: the address if it is verified
    # itself, otherwise its domain.
    identities = set(backend.email_identities) | set(getattr(backend, "addresses", []))
    domain = address.rsplit("@", 1)[-1]
    name = address if address in identities else domain
    return f"arn:aws:ses:{region}:{account}:identity/{name}"


def _ses_facts(req, action: str):
    if action not in ("ses:SendEmail", "ses:SendRawEmail"):
        return ["*"]
    text = _body_text(req)
    sender, config_set = None, None
    try:
        doc = json.loads(text)  # SES v2 (JSON)
        sender = doc.get("FromEmailAddress")
        config_set = doc.get("ConfigurationSetName")
        raw = ((doc.get("Content") or {}).get("Raw") or {}).get("Data")
    except ValueError:  # SES v1 (query)
        form = {k: v[0] for k, v in parse_qs(text).items()}
        sender = form.get("Source")
        config_set = form.get("ConfigurationSetName")
        raw = form.get("RawMessage.Data")
    if not sender and raw:
        message = email.message_from_bytes(base64.b64decode(raw), policy=email.policy.default)
        sender = message.get("From")
    if not sender:
        raise iam_eval.UnsupportedCondition("SES send without a From address")
    address = getaddresses([sender])[0][1]
    resources = [_ses_identity(req.account_id, req._region, address)]
    if config_set:
        resources.append(f"arn:aws:ses:{req._region}:{req.account_id}:configuration-set/{config_set}")
    return resources


def _cloudformation_facts(req, action: str):
    form = {k: v[0] for k, v in parse_qs(_body_text(req)).items()}
    form.update({k: v[0] if isinstance(v, list) else v for k, v in (req._data or {}).items()})
    name = form.get("StackName")
    if not name:
        return ["*"]
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[req.account_id][req._region]
    for stack in backend.stacks.values():
        if name in (stack.name, stack.stack_id):
            return [stack.stack_id]
    return [f"arn:aws:cloudformation:{req._region}:{req.account_id}:stack/{name}/*"]


def _facts(req, resource: str):
    """AWS's action, resources and condition context for a request moto is authorizing."""
    action, service = req._action, req._service
    if service == "s3":
        return _s3_facts(req, action, resource)
    context = {"aws:SecureTransport": "true"}
    if service == "apigateway":
        path = unquote(urlparse(req._path).path)
        return f"apigateway:{req._method}", [f"arn:aws:apigateway:{req._region}::{path}"], context
    if service == "ses":
        return action, _ses_facts(req, action), context
    if service == "cloudformation":
        return action, _cloudformation_facts(req, action), context
    return action, [resource], context


def _bucket_denies(resources: list[str]) -> list[dict]:
    path = os.environ.get("EWORK_IAM_BUCKET_POLICIES")
    if not path:
        return []
    policies = json.loads(Path(path).read_text())
    docs = []
    for bucket, doc in policies.items():
        arn = f"arn:aws:s3:::{bucket}"
        if any(r == arn or r.startswith(arn + "/") for r in resources):
            docs.append({"Statement": [s for s in iam_eval.as_list(doc["Statement"]) if s["Effect"] == "Deny"]})
    return docs


def install() -> None:
    from botocore.awsrequest import AWSRequest
    from moto.iam import access_control

    moto_check = access_control.IAMRequestBase.check_action_permitted
    moto_request = access_control.IAMRequestBase._create_aws_request

    def create_aws_request(self) -> AWSRequest:
        # moto re-signs a body-less request (API Gateway GET or DELETE) with its parsed
        # parameters as the body, so the signature never matches; sign the real (empty) body.
        request = moto_request(self)
        if self._service != "s3" and not self._body and self._method in ("GET", "HEAD", "DELETE"):
            request.data = b""
        return request

    access_control.IAMRequestBase._create_aws_request = create_aws_request

    def check_action_permitted(self, resource: str) -> None:
        user = self._access_key.arn.rsplit("/", 1)[-1]
        try:
            action, resources, context = _facts(self, resource)
        except iam_eval.UnsupportedCondition as e:
            _record({"user": user, "action": self._action, "allowed": False, "by": "harness", "reason": str(e)})
            self._raise_access_denied()
        entry = {"user": user, "action": action, "resources": resources}
        saved = self._action
        self._action = action
        try:
            for r in resources:
                moto_check(self, r)
        except Exception:
            _record({**entry, "allowed": False, "by": "moto", "reason": "moto's policy evaluation"})
            raise
        finally:
            self._action = saved
        if action == "sts:GetCallerIdentity":
            _record({**entry, "allowed": True, "by": "moto", "reason": "always allowed"})
            return
        docs = [iam_eval.document_of(p) for p in self._access_key.collect_policies()]
        if self._service == "s3":
            docs += _bucket_denies(resources)
        try:
            decision = iam_eval.decide(docs, action, resources, context)
        except iam_eval.UnsupportedCondition as e:
            decision = iam_eval.Decision(False, f"unsupported condition {e}")
        _record({**entry, "allowed": decision.allowed, "by": "harness", "reason": decision.reason,
                 "context": {k: v for k, v in context.items() if k != "aws:SecureTransport"}})
        if not decision.allowed:
            self._raise_access_denied()

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted


def add_ses_get_account() -> None:
    """moto 5.2.5 has no SES v2 GetAccount (it answers 404 before authorizing), so the
    scorer's `ses:GetAccount` (its send rate comes from the account's quota) would go
    untested. This answers it, after the same authorization as every other call, with
    the sandbox's quota."""
    from moto.sesv2 import urls
    from moto.sesv2.responses import SESV2Response

    def get_account(self) -> str:
        return json.dumps({
            "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True, "SendingEnabled": True,
            "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0},
        })

    SESV2Response.get_account = get_account
    urls.url_paths["{0}/v2/email/account$"] = SESV2Response.dispatch


def main() -> None:
    if "INITIAL_NO_AUTH_ACTION_COUNT" not in os.environ:
        sys.exit("moto_iam.py: set INITIAL_NO_AUTH_ACTION_COUNT (the requests allowed before IAM is enforced)")
    install()
    add_ses_get_account()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()

"""Small AWS calls the amazon.aws collection has no module for, run by the playbooks
with the Python that runs ansible-playbook (boto3 from the project's venv). Region,
credentials and AWS_ENDPOINT_URL come from the environment, as for every task.

    aws_ops.py apigateway-account-role
        prints {"cloudwatchRoleArn": "<arn or empty>"}: API Gateway's account-wide
        CloudWatch role in this region (empty when none is set).
    aws_ops.py termination-protection STACK on|off
        sets the stack's termination protection; prints {"changed": true|false}.
"""

from __future__ import annotations

import json
import sys

import boto3
from botocore.exceptions import ClientError


def apigateway_account_role() -> dict:
    account = boto3.client("apigateway").get_account()
    return {"cloudwatchRoleArn": account.get("cloudwatchRoleArn") or ""}


def termination_protection(stack: str, state: str) -> dict:
    if state not in ("on", "off"):
        raise SystemExit(f"termination-protection: expected on or off, got {state!r}")
    wanted = state == "on"
    cfn = boto3.client("cloudformation")
    try:
        current = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as e:
        if "does not exist" in str(e):
            return {"changed": False, "exists": False}
        raise
    if bool(current.get("EnableTerminationProtection")) == wanted:
        return {"changed": False, "exists": True}
    cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=wanted)
    return {"changed": True, "exists": True}


def main(argv: list[str]) -> None:
    if argv[:1] == ["apigateway-account-role"] and len(argv) == 1:
        result = apigateway_account_role()
    elif argv[:1] == ["termination-protection"] and len(argv) == 3:
        result = termination_protection(argv[1], argv[2])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Renders the IAM policies of a CloudFormation template for one account, region and
bucket: the inline policies of a role (plus the AWS::IAM::Policy resources attached to
it), a managed policy, or a bucket policy, as plain JSON documents.

The IAM check (scripts/checks/47-iam-moto.sh) gives each function's IAM user exactly
these documents, so what runs against moto is what CloudFormation would create.
Every reference must resolve: an unknown Ref, GetAtt, import or intrinsic function
raises, so a template change is never rendered into something looser by guessing.

    python scripts/iam/render.py cloudformation/scorer.yaml ScorerRole --bucket my-bucket
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cfnlint.decode import cfn_yaml


class RenderError(Exception):
    pass


@dataclass
class Context:
    """What a deployed stack would know: its name, account, region, parameters,
    the storage stack's exports and the physical ids of its own resources."""

    stack_name: str
    account: str = "123456789012"
    region: str = "eu-central-1"
    partition: str = "aws"
    parameters: dict[str, str] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }


def storage_imports(storage_stack: str, bucket: str, artifacts: str = "ework-artifacts") -> dict[str, str]:
    """The exports of cloudformation/storage.yaml for a course bucket."""
    return {
        f"{storage_stack}-BucketName": bucket,
        f"{storage_stack}-BucketArn": f"arn:aws:s3:::{bucket}",
        f"{storage_stack}-ArtifactsBucketName": artifacts,
    }


def load(path: str | Path) -> dict:
    return cfn_yaml.load(str(path))


class Renderer:
    def __init__(self, template: dict, ctx: Context):
        self.template = template
        self.ctx = ctx
        self.parameters = {}
        for name, spec in template.get("Parameters", {}).items():
            if name in ctx.parameters:
                self.parameters[name] = str(ctx.parameters[name])
            elif "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        unknown = set(ctx.parameters) - set(template.get("Parameters", {}))
        if unknown:
            raise RenderError(f"parameters not in the template: {sorted(unknown)}")
        self.conditions = {name: self._condition(expr) for name, expr in template.get("Conditions", {}).items()}

    # ---- conditions -------------------------------------------------------------------------
    def _condition(self, expr) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._condition(arg[0])
            if fn == "Fn::And":
                return all(self._condition(x) for x in arg)
            if fn == "Fn::Or":
                return any(self._condition(x) for x in arg)
            if fn == "Condition":
                return self._condition(self.template["Conditions"][arg])
        raise RenderError(f"cannot evaluate condition {expr!r}")

    # ---- values -------------------------------------------------------------------------------
    def _ref(self, name: str):
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.ctx.pseudo():
            return self.ctx.pseudo()[name]
        if name in self.ctx.refs:
            return self.ctx.refs[name]
        raise RenderError(f"no value for Ref {name}")

    def _attr(self, logical: str, attr: str) -> str:
        key = f"{logical}.{attr}"
        if key in self.ctx.attrs:
            return self.ctx.attrs[key]
        raise RenderError(f"no value for GetAtt {key}")

    def _sub(self, text: str, variables: dict) -> str:
        def one(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self._attr(*name.split(".", 1))
            value = self._ref(name)
            if value is _NO_VALUE:
                raise RenderError(f"AWS::NoValue inside Fn::Sub {text!r}")
            return str(value)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, node):
        """Resolves intrinsic functions; AWS::NoValue drops list items and keys."""
        if isinstance(node, list):
            out = [self.value(v) for v in node]
            return [v for v in out if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self._attr(logical, attr)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, variables)
            if key == "Fn::ImportValue":
                name = self.value(arg)
                if name not in self.ctx.imports:
                    raise RenderError(f"no export named {name}")
                return self.ctx.imports[name]
            if key == "Fn::If":
                cond, yes, no = arg
                return self.value(yes if self.conditions[cond] else no)
            if key == "Fn::Join":
                delimiter, items = arg
                return delimiter.join(str(v) for v in self.value(items))
            if key.startswith("Fn::") or key == "Condition":
                raise RenderError(f"unsupported intrinsic {key}")
        out = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    # ---- policies -----------------------------------------------------------------------------
    def _resource(self, logical: str, kind: str) -> dict:
        res = self.template["Resources"].get(logical)
        if res is None or res["Type"] != kind:
            raise RenderError(f"{logical} is not a {kind}")
        return res

    def _exists(self, res: dict) -> bool:
        return "Condition" not in res or self.conditions[res["Condition"]]

    def role_policies(self, role: str) -> dict[str, dict]:
        """Policy name -> document: the role's inline policies and the AWS::IAM::Policy
        resources that name it. Managed policy ARNs are refused (they would escape the check)."""
        res = self._resource(role, "AWS::IAM::Role")
        props = res["Properties"]
        if props.get("ManagedPolicyArns"):
            raise RenderError(f"{role} has managed policies the check cannot render")
        out = {}
        for policy in self.value(props.get("Policies", [])):
            out[policy["PolicyName"]] = policy["PolicyDocument"]
        for logical, other in self.template["Resources"].items():
            if other["Type"] != "AWS::IAM::Policy" or not self._exists(other):
                continue
            if {"Ref": role} in other["Properties"].get("Roles", []):
                props = other["Properties"]
                out[self.value(props["PolicyName"])] = self.value(props["PolicyDocument"])
        return out

    def managed_policy(self, logical: str) -> dict:
        res = self._resource(logical, "AWS::IAM::ManagedPolicy")
        return self.value(res["Properties"]["PolicyDocument"])

    def function_environment(self, logical: str) -> dict[str, str]:
        """The environment variables a Lambda function gets from the template."""
        res = self._resource(logical, "AWS::Lambda::Function")
        variables = self.value(res["Properties"].get("Environment", {}).get("Variables", {}))
        return {k: str(v) for k, v in variables.items()}

    def bucket_policy(self, logical: str) -> dict:
        res = self._resource(logical, "AWS::S3::BucketPolicy")
        return self.value(res["Properties"]["PolicyDocument"])


_NO_VALUE = object()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template")
    parser.add_argument("resource", help="a role, managed policy or bucket policy")
    parser.add_argument("--bucket", default="COURSE-BUCKET")
    parser.add_argument("--stack-name", default="ework-stack")
    parser.add_argument("--storage-stack", default="ework-storage")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--ref", action="append", default=[], metavar="LOGICAL=VALUE")
    parser.add_argument("--attr", action="append", default=[], metavar="LOGICAL.ATTR=VALUE")
    args = parser.parse_args(argv)
    pairs = lambda items: dict(i.split("=", 1) for i in items)  # noqa: E731
    params = pairs(args.param)
    template = load(args.template)
    if "StorageStackName" in template.get("Parameters", {}):
        params.setdefault("StorageStackName", args.storage_stack)
    ctx = Context(stack_name=args.stack_name, parameters=params,
                  imports=storage_imports(args.storage_stack, args.bucket),
                  refs=pairs(args.ref), attrs=pairs(args.attr))
    if "CourseBucket" in template.get("Resources", {}):
        ctx.refs.setdefault("CourseBucket", args.bucket)
        ctx.attrs.setdefault("CourseBucket.Arn", f"arn:aws:s3:::{args.bucket}")
    r = Renderer(template, ctx)
    kind = template["Resources"][args.resource]["Type"]
    out = {"AWS::IAM::Role": r.role_policies, "AWS::IAM::ManagedPolicy": r.managed_policy,
           "AWS::S3::BucketPolicy": r.bucket_policy}[kind](args.resource)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except RenderError as e:
        sys.exit(f"render: {e}")

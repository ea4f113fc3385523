"""Evaluates identity and bucket policy statements the way AWS IAM does, for the parts
moto 5.2.5 gets wrong or skips (see moto/iam/access_control.py):

- moto treats every Condition of an identity policy as met (it has no request context
  for them), and a statement whose condition does not hold as an explicit Deny;
- moto ignores NotResource and resource-based (bucket) policies.

Here a statement applies when its Action (or NotAction), Resource (or NotResource) and
every Condition match; Deny beats Allow; nothing allowed means an implicit deny. An
operator this module does not know raises instead of being skipped, so a template that
starts using one makes the IAM check fail until it is taught here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


class UnsupportedCondition(Exception):
    pass


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def iam_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` is any run of characters (including `/`), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags=flags) is not None


def _string_like(expected: str, actual: str) -> bool:
    return iam_match(expected, actual)


_POSITIVE = {
    "StringEquals": lambda e, a: e == a,
    "StringEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringLike": _string_like,
    "ArnEquals": lambda e, a: e == a,
    "ArnLike": _string_like,
    "Bool": lambda e, a: str(e).lower() == str(a).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _lookup(context: dict[str, str], key: str):
    # Condition keys are case-insensitive.
    for k, v in context.items():
        if k.lower() == key.lower():
            return v
    return None


def condition_holds(condition: dict, context: dict[str, str]) -> bool:
    """Every operator and every key of a Condition block must hold (single-valued keys)."""
    for operator, pairs in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if base.startswith(("ForAnyValue:", "ForAllValues:")):
            raise UnsupportedCondition(operator)
        for key, expected in pairs.items():
            expected = [str(e) if not isinstance(e, bool) else str(e).lower() for e in as_list(expected)]
            actual = _lookup(context, key)
            if base == "Null":
                if if_exists or len(expected) != 1 or expected[0] not in ("true", "false"):
                    raise UnsupportedCondition(f"{operator} {expected}")
                if (actual is None) != (expected[0] == "true"):
                    return False
                continue
            if base in _POSITIVE:
                if actual is None:
                    if not if_exists:
                        return False
                    continue
                if not any(_POSITIVE[base](e, actual) for e in expected):
                    return False
            elif base in _NEGATED:
                # AWS: a negated operator on a key missing from the request holds.
                if actual is None:
                    continue
                if any(_POSITIVE[_NEGATED[base]](e, actual) for e in expected):
                    return False
            else:
                raise UnsupportedCondition(operator)
    return True


def statement_applies(stmt: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    if "NotAction" in stmt:
        if any(iam_match(a, action, ignore_case=True) for a in as_list(stmt["NotAction"])):
            return False
    elif not any(iam_match(a, action, ignore_case=True) for a in as_list(stmt.get("Action", []))):
        return False
    if "NotResource" in stmt:
        if any(iam_match(r, resource) for r in as_list(stmt["NotResource"])):
            return False
    elif not any(iam_match(r, resource) for r in as_list(stmt.get("Resource", []))):
        return False
    return condition_holds(stmt.get("Condition", {}), context)


@dataclass
class Decision:
    allowed: bool
    reason: str


def decide(
    documents: list[dict],
    action: str,
    resources: list[str],
    context: dict[str, str],
) -> Decision:
    """The request is allowed when, for every resource it touches, some Allow statement
    applies and no Deny statement does."""
    for resource in resources:
        allowed_by = None
        for doc in documents:
            for stmt in as_list(doc.get("Statement", [])):
                if not statement_applies(stmt, action, resource, context):
                    continue
                sid = stmt.get("Sid", "(no Sid)")
                if stmt["Effect"] == "Deny":
                    return Decision(False, f"explicit Deny {sid} for {resource}")
                allowed_by = allowed_by or sid
        if allowed_by is None:
            return Decision(False, f"no Allow for {action} on {resource}")
    return Decision(True, "allowed")


def document_of(policy) -> dict:
    """A policy document from what moto's collect_policies returns (a JSON string, a dict
    with `policy_document`, or a managed Policy object)."""
    if isinstance(policy, str):
        return json.loads(policy)
    if isinstance(policy, dict):
        doc = policy["policy_document"]
        return json.loads(doc) if isinstance(doc, str) else doc
    version = next(v for v in policy.versions if v.is_default)
    doc = version.document
    return json.loads(doc) if isinstance(doc, str) else doc


"""Filters of the Ework Trainings playbooks (loaded by Ansible from filter_plugins/).

cfn_release: the release of a stack, a hash of its template and its parameters. The
playbook passes it as the ReleaseId parameter (a new value publishes a new Lambda
version and moves the `live` alias) and renames the api template's ApiDeployment
resource to ApiDeployment<release>: API Gateway snapshots the methods only when a
deployment is created, so every change of the template or a parameter gets a fresh
deployment, and an unchanged stack keeps its deployment (no update at all).

cfn_changes: a change set's Changes as one readable line each (check mode).

cfn_statuses: {stack name: status, or "ABSENT"} from looped cloudformation_info results.

cloudformation/tests/test_templates.py imports this file to check that a rendered
template is still valid and that the release moves exactly when it should.
"""

from __future__ import annotations

import hashlib
import json
import re

# The logical id in cloudformation/api.yaml; a word of its own there (Ref, DependsOn).
DEPLOYMENT_ID = "ApiDeployment"
_DEPLOYMENT_WORD = re.compile(rf"\b{DEPLOYMENT_ID}\b")


def release_id(template_text: str, parameters: dict) -> str:
    """16 hex digits of sha256 over the template and the parameters (ReleaseId left out)."""
    params = {str(k): str(v) for k, v in parameters.items() if k != "ReleaseId"}
    digest = hashlib.sha256()
    digest.update(template_text.encode("utf-8"))
    digest.update(b"\0")
    digest.update(json.dumps(params, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:16]


def cfn_release(template_text: str, parameters: dict) -> dict:
    """{"id": release, "template": the template with ApiDeployment renamed, "parameters":
    the parameters with ReleaseId set}."""
    release = release_id(template_text, parameters)
    rendered = _DEPLOYMENT_WORD.sub(DEPLOYMENT_ID + release, template_text)
    return {"id": release, "template": rendered, "parameters": {**parameters, "ReleaseId": release}}


def cfn_changes(changes) -> list[str]:
    """'Modify ScorerFunction (AWS::Lambda::Function), replacement: False' per change."""
    lines = []
    for change in changes or []:
        rc = change.get("ResourceChange") or change.get("resource_change") or {}
        action = rc.get("Action") or rc.get("action") or "?"
        logical = rc.get("LogicalResourceId") or rc.get("logical_resource_id") or "?"
        kind = rc.get("ResourceType") or rc.get("resource_type") or "?"
        line = f"{action} {logical} ({kind})"
        replacement = rc.get("Replacement") or rc.get("replacement")
        if action == "Modify" and replacement:
            line += f", replacement: {replacement}"
        lines.append(line)
    return lines or ["(no resource changes)"]


def cfn_statuses(results) -> dict:
    """Each looped cloudformation_info result (item = the stack name) as name -> status."""
    statuses = {}
    for result in results:
        name = result["item"]
        info = (result.get("cloudformation") or {}).get(name) or {}
        statuses[name] = (info.get("stack_description") or {}).get("stack_status") or "ABSENT"
    return statuses


class FilterModule:
    def filters(self):
        return {"cfn_release": cfn_release, "cfn_changes": cfn_changes, "cfn_statuses": cfn_statuses}

"""moto_server with what the deploy check needs of CloudFormation and moto 5.2.5 lacks,
for scripts/checks/42-deploy-moto.sh.

    python scripts/deploy/moto_cfn.py -H 127.0.0.1 -p PORT

Termination protection: moto records EnableTerminationProtection at CreateStack but
implements neither UpdateTerminationProtection nor the refusal to delete a protected
stack, so a remove playbook that forgets to lift the storage stack's protection would
pass against plain moto and fail in AWS. Here:

- UpdateTerminationProtection sets the flag (DescribeStacks reports it);
- DeleteStack of a protected stack answers ValidationError "Stack [name] cannot be
  deleted while TerminationProtection is enabled" and deletes nothing.

Lambda versions and aliases: moto creates AWS::Lambda::Version (publishing a version)
but cannot GetAtt its Version, update it, or create an AWS::Lambda::Alias at all, so
every reference to the `live` alias would resolve to nothing. Here:

- AWS::Lambda::Version: GetAtt Version; a changed resource publishes a new version (in
  AWS a Version is replaced on any change, and fails if the function did not change);
  resources that reference a changed Version (the alias) are updated too, as
  CloudFormation does when an attribute they use changes;
- AWS::Lambda::Alias: created, updated and deleted through moto's Lambda alias API; Ref
  is the alias ARN, GetAtt AliasArn too.
"""

from __future__ import annotations

import json
import sys


def _enabled(value) -> bool:
    return str(value).lower() == "true" if value is not None else False


def install() -> None:
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    def update_termination_protection(self) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
        return ActionResult({"StackId": stack.stack_id})

    responses.CloudFormationResponse.update_termination_protection = update_termination_protection

    original_delete = models.CloudFormationBackend.delete_stack

    def delete_stack(self, name_or_stack_id: str) -> None:
        for stack in self.stacks.values():
            if name_or_stack_id in (stack.stack_id, stack.name) and _enabled(stack.enable_termination_protection):
                raise ValidationError(
                    message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
        original_delete(self, name_or_stack_id)

    models.CloudFormationBackend.delete_stack = delete_stack

    # CreateStack stores the query string "true"; keep it a bool for DescribeStacks.
    original_init = models.Stack.__init__

    def stack_init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self.enable_termination_protection = _enabled(self.enable_termination_protection)

    models.Stack.__init__ = stack_init
    install_lambda_aliases()


def install_lambda_aliases() -> None:
    from moto.awslambda import models as lam
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.common_models import CloudFormationModel

    def version_attr(self, attribute_name: str) -> str:
        if attribute_name == "Version":
            return str(self.version)
        raise NotImplementedError(attribute_name)

    lam.LambdaVersion.has_cfn_attr = classmethod(lambda cls, attr: attr == "Version")
    lam.LambdaVersion.get_cfn_attribute = version_attr

    # AWS publishes a version only if the function changed since the last one, and fails
    # the Version resource otherwise; moto's CloudFormation update of a function does not
    # mark it changed, so compare what a version captures here.
    def version_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        name = cloudformation_json["Properties"]["FunctionName"]
        backend = lam.lambda_backends[account_id][region_name]
        latest = backend.get_function(name)
        published = list(backend.list_versions_by_function(name))[1:]
        if published:
            last = published[-1]
            if (latest.environment_vars, latest.code_sha_256) == (last.environment_vars, last.code_sha_256):
                raise ValidationError(message=f"A version for this Lambda function exists ( {last.version} ). "
                                              "Modify the function to create a new version.")
            latest.code_or_config_updated = True
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    lam.LambdaVersion.update_from_cloudformation_json = classmethod(version_update)

    class LambdaAliasResource(CloudFormationModel):
        # moto's model registry files models under the service named in their module.
        __module__ = "moto.awslambda.models"

        def __init__(self, alias, function_name: str):
            self.alias = alias
            self.function_name = function_name

        @property
        def physical_resource_id(self) -> str:
            return self.alias.arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Alias"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "AliasArn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            if attribute_name == "AliasArn":
                return self.alias.arn
            raise NotImplementedError(attribute_name)

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            props = cloudformation_json["Properties"]
            backend = lam.lambda_backends[account_id][region_name]
            alias = backend.create_alias(props["Name"], props["FunctionName"], str(props["FunctionVersion"]),
                                         props.get("Description", ""), props.get("RoutingConfig"))
            return cls(alias, props["FunctionName"])

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                            account_id, region_name):
            props = cloudformation_json["Properties"]
            backend = lam.lambda_backends[account_id][region_name]
            alias = backend.update_alias(props["Name"], props["FunctionName"], str(props["FunctionVersion"]),
                                         props.get("Description", ""), props.get("RoutingConfig"))
            return cls(alias, props["FunctionName"])

        def delete(self, account_id: str, region_name: str) -> None:
            backend = lam.lambda_backends[account_id][region_name]
            try:
                backend.get_function(self.function_name)
            except Exception:  # noqa: BLE001 - the function (and with it the alias) is gone
                return
            backend.delete_alias(self.alias.name, self.function_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            # resource_name is the alias ARN: arn:aws:lambda:<region>:<account>:function:<name>:<alias>
            function_name, alias = resource_name.split(":")[-2:]
            lam.lambda_backends[account_id][region_name].delete_alias(alias, function_name)

        def is_created(self) -> bool:
            return True

    original_diff = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self, other_template, parameters=None):
        diff = original_diff(self, other_template, parameters)
        new = other_template["Resources"]
        versions = {n for n in diff["Modify"] if new[n].get("Type") == "AWS::Lambda::Version"}
        for name, resource in new.items():
            if name in diff["Modify"] or name in diff["Add"]:
                continue
            text = json.dumps(resource)
            if any(f'"Ref": "{v}"' in text or f'"{v}", "Version"' in text or f'"{v}.Version"' in text for v in versions):
                diff["Modify"].append(name)
        return diff

    parsing.ResourceMap.build_resource_diff = build_resource_diff
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def main() -> None:
    install()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()

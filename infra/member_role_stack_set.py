"""The member role in every account of the organization: a service-managed StackSet.

Its template is the member-role stack's own (infra/member_role_stack.py), synthesized
here in an app of its own, so the two can never differ. Organizations deploys it to each
account of the target units (or of the whole organization, from its root id) and to each
account that joins them later. A StackSet never deploys to the management account: when
the management account should be audited too, deploy HsmBackupAuditMemberRole there.

Deploy it from the management account, or from a delegated administrator for StackSets
with `stackSetCallAs=DELEGATED_ADMIN`. IAM is global: one region, the stack's own.
"""

from __future__ import annotations

import json
import tempfile

from aws_cdk import App, Aws, CfnOutput, LegacyStackSynthesizer, Stack
from aws_cdk import aws_cloudformation as cfn
from constructs import Construct

from . import constants as c
from .member_role_stack import MemberRoleStack
from .settings import Settings


def member_role_template(settings: Settings) -> str:
    """The member-role stack's template, as `cdk synth HsmBackupAuditMemberRole` writes it."""
    with tempfile.TemporaryDirectory(prefix="member-role-") as outdir:
        app = App(outdir=outdir, analytics_reporting=False)
        MemberRoleStack(app, c.MEMBER_ROLE_STACK_NAME, settings=settings)
        template = app.synth().get_stack_by_name(c.MEMBER_ROLE_STACK_NAME).template
    return json.dumps(template, indent=1, sort_keys=True)


class MemberRoleStackSetStack(Stack):
    """`cdk deploy HsmBackupAuditMemberRoleStackSet` with memberRoleStackSet=true and
    stackSetTargets (or organizationalUnits) in the context."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(
            scope,
            construct_id,
            description="hsm-backup-audit: the member role in every account of the organization",
            # No assets: deployable from the management account with no `cdk bootstrap`.
            synthesizer=LegacyStackSynthesizer(),
        )
        audit_account = settings.audit_account_id or Aws.ACCOUNT_ID
        self.stack_set = cfn.CfnStackSet(
            self,
            "MemberRole",
            stack_set_name=c.MEMBER_ROLE_STACK_SET_NAME,
            description="hsm-backup-audit: the read-only member role (HsmBackupAuditMemberRole)",
            permission_model="SERVICE_MANAGED",
            call_as=settings.stack_set_call_as,
            auto_deployment=cfn.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            operation_preferences=cfn.CfnStackSet.OperationPreferencesProperty(
                max_concurrent_percentage=c.STACK_SET_MAX_CONCURRENT_PERCENTAGE,
                failure_tolerance_percentage=c.STACK_SET_FAILURE_TOLERANCE_PERCENTAGE,
                region_concurrency_type="PARALLEL",
            ),
            parameters=[
                cfn.CfnStackSet.ParameterProperty(
                    parameter_key="AuditAccountId", parameter_value=audit_account
                )
            ],
            stack_instances_group=[
                cfn.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cfn.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(settings.stack_set_targets)
                    ),
                    regions=[Aws.REGION],
                )
            ],
            template_body=member_role_template(settings),
        )
        CfnOutput(self, "StackSetName", value=c.MEMBER_ROLE_STACK_SET_NAME)

"""The read-only role a member account deploys, so the audit function can see its backups.

It trusts only the audit's roles: the audit account is the principal and the condition
names the roles by ARN (the single-run function's, and the fan-out's batch and merge
steps', infra/constants.py TRUSTED_ROLE_NAMES). That works before the audit stack exists
(a role ARN as the principal would not) and survives the roles being re-created.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, CfnParameter, Duration, LegacyStackSynthesizer, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from hsm_backup_audit.constants import ENABLED_REGIONS_ACTION
from hsm_backup_audit.regions import ALL_REGIONS

from . import constants as c
from .nag import acknowledge
from .security_hub import acknowledge_every_region
from .security_hub import statements as security_hub_statements
from .settings import Settings

READ_ACTIONS = ["cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"]


def _actions(settings: Settings) -> list[str]:
    """With regions `all`, the audit asks each member which regions it has enabled."""
    if ALL_REGIONS in settings.regions:
        return [*READ_ACTIONS, ENABLED_REGIONS_ACTION]
    return READ_ACTIONS


class MemberRoleStack(Stack):
    """Deploy once in each member account: `cdk deploy HsmBackupAuditMemberRole`."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(
            scope,
            construct_id,
            description="hsm-backup-audit: read-only role for the audit",
            # No assets and no bootstrap roles: deployable with the member account's own
            # credentials and no `cdk bootstrap` there, or as a plain template (StackSets).
            synthesizer=LegacyStackSynthesizer(),
        )
        self.audit_account = self._build_audit_account_parameter(settings)
        self.role = self._build_role(settings)
        CfnOutput(
            self,
            "MemberRoleArn",
            value=self.role.role_arn,
            description="Add this account's id to the audit stack's memberAccounts",
        )

    def _build_audit_account_parameter(self, settings: Settings) -> CfnParameter:
        return CfnParameter(
            self,
            "AuditAccountId",
            type="String",
            allowed_pattern=r"^\d{12}$",
            description="The account where the hsm-backup-audit stack (its function) runs",
            default=settings.audit_account_id,
        )

    def audit_role_arns(self) -> list[str]:
        account = self.audit_account.value_as_string
        return [f"arn:{Aws.PARTITION}:iam::{account}:role/{name}" for name in c.TRUSTED_ROLE_NAMES]

    @staticmethod
    def _policies(settings: Settings) -> dict[str, iam.PolicyDocument]:
        policies = {
            "ReadCloudHsmBackups": iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=_actions(settings), resources=["*"])]
            )
        }
        if settings.security_hub:  # this member account's own default product, nothing else
            policies["ImportFindingsToSecurityHub"] = iam.PolicyDocument(
                statements=security_hub_statements(settings)
            )
        return policies

    def _build_role(self, settings: Settings) -> iam.Role:
        conditions: dict[str, dict[str, str | list[str]]] = {
            "ArnEquals": {"aws:PrincipalArn": self.audit_role_arns()}
        }
        if settings.member_external_id:
            conditions["StringEquals"] = {"sts:ExternalId": settings.member_external_id}
        role = iam.Role(
            self,
            "MemberRole",
            role_name=settings.member_role_name,
            description="Lets the hsm-backup-audit function read this account's CloudHSM backups",
            assumed_by=iam.AccountPrincipal(self.audit_account.value_as_string).with_conditions(
                conditions
            ),
            max_session_duration=Duration.hours(1),
            inline_policies=self._policies(settings),
        )
        acknowledge(
            role,
            "IAM5",
            "cloudhsm:DescribeBackups and DescribeClusters, and ec2:DescribeRegions (regions "
            "`all`), support no resource-level permissions: their only resource is *.",
            "Resource::*",
        )
        acknowledge_every_region(role, settings)
        return role

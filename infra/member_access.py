"""The function's access to member accounts: one role name, assumed in every member account.

The grant names the role in any account (`arn:aws:iam::*:role/NAME`) and a condition
keeps it to the member accounts: the organization (aws:ResourceOrgID) when
organizationId is set, else the account list (aws:ResourceAccount). Its size then does not
grow with the accounts under an organization; the account list itself ships in the asset.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from .nag import acknowledge
from .settings import Settings


class MemberAccess(Construct):
    """sts:AssumeRole on the member role name, in the member accounts only."""

    def __init__(self, scope: Construct, construct_id: str, *, role: iam.IRole, settings: Settings):
        super().__init__(scope, construct_id)
        resource = f"arn:{Aws.PARTITION}:iam::*:role/{settings.member_role_name}"
        if settings.organization_id:
            condition: dict[str, str | list[str]] = {"aws:ResourceOrgID": settings.organization_id}
        else:
            condition = {"aws:ResourceAccount": list(settings.member_accounts)}
        self.policy = iam.Policy(
            self,
            "AssumeMemberRoles",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[resource],
                    conditions={"StringEquals": condition},
                )
            ],
        )
        acknowledge(
            self.policy,
            "IAM5",
            f"sts:AssumeRole on the one role name {settings.member_role_name} in every member "
            "account; the StringEquals condition limits it to the organization or the listed "
            "member accounts, whose trust policies name this function's role.",
            f"Resource::arn:<AWS::Partition>:iam::*:role/{settings.member_role_name}",
        )

"""What the audit needs to audit an organization: list its accounts, assume the member role.

Organizations' List* calls are made from the management account or a delegated
administrator. The member role may be assumed in any account of the caller's own
organization only: `aws:ResourceOrgID` must equal `${aws:PrincipalOrgID}`, so the grant
needs no organization id at synth and never reaches an account outside the organization.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from .nag import acknowledge
from .settings import Settings

LIST_ACCOUNTS = ["organizations:ListAccounts"]
LIST_UNITS = [
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
]
SAME_ORGANIZATION = {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}


def member_role_arn_pattern(role_name: str) -> str:
    return f"arn:{Aws.PARTITION}:iam::*:role/{role_name}"


class OrganizationAccess(Construct):
    """Grants `role` exactly the Organizations calls the audit makes, and the member role,
    in a policy of its own: its acknowledgements cover these statements and no other."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        settings: Settings,
        list_accounts: bool = True,
        assume_member_roles: bool = True,
    ) -> None:
        """The fan-out splits the two: its plan lists the accounts, its batch and merge
        steps assume the member roles."""
        super().__init__(scope, construct_id)
        # With units, only those are read (ListAccountsForParent, then their child units).
        actions = LIST_UNITS if settings.organizational_units else LIST_ACCOUNTS
        statements = []
        if list_accounts:
            statements.append(iam.PolicyStatement(actions=actions, resources=["*"]))
        if assume_member_roles:
            statements.append(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[member_role_arn_pattern(settings.member_role_name)],
                    conditions=SAME_ORGANIZATION,
                )
            )
        name = {
            (True, True): "ListAccountsAndAssumeMemberRoles",
            (True, False): "ListAccounts",
            (False, True): "AssumeMemberRoles",
        }[(list_accounts, assume_member_roles)]
        self.policy = iam.Policy(self, name, roles=[role], statements=statements)
        if list_accounts:
            acknowledge(
                self.policy,
                "IAM5",
                "organizations:ListAccounts has no resource-level permissions; the ForParent "
                "calls name units by ARNs that hold the organization id, unknown at synth: "
                "resource *.",
                "Resource::*",
            )
        if assume_member_roles:
            acknowledge(
                self.policy,
                "IAM5",
                "The member role in every account of the organization: one role name, and "
                "aws:ResourceOrgID must equal the caller's aws:PrincipalOrgID (no outside "
                "account).",
                f"Resource::arn:<AWS::Partition>:iam::*:role/{settings.member_role_name}",
            )

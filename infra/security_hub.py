"""The Security Hub products the audit imports findings into: each account's default
product, in every audited region. The function's role may import into its own account's;
each member role into its member account's (with the default product, Security Hub takes
a finding only from the account it names). Each may also read its account's findings back
(GetFindings, whose resource is the account's hub in the region) to reconcile them."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from hsm_backup_audit.aws.cloudhsm import all_regions
from hsm_backup_audit.aws.security_hub import partition_of
from hsm_backup_audit.engine.asff import product_arn
from hsm_backup_audit.regions import ALL_REGIONS

from .nag import acknowledge
from .settings import Settings

IMPORT_ACTION = "securityhub:BatchImportFindings"
READ_ACTION = "securityhub:GetFindings"  # resource type `hub` (Service Authorization Reference)


def hub_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account_id}:hub/default"


def statements(settings: Settings) -> list[iam.PolicyStatement]:
    """Import into, and read back from, this account's Security Hub in the audited regions."""
    return [
        iam.PolicyStatement(actions=[IMPORT_ACTION], resources=default_product_arns(settings)),
        iam.PolicyStatement(actions=[READ_ACTION], resources=hub_arns(settings)),
    ]


def _regional(settings: Settings, arn: Callable[[str, str, str], str]) -> list[str]:
    if settings.regions == (ALL_REGIONS,):
        # Every region of the partition: one ARN with a region wildcard, not one per region
        # (32 of them made a third of IAM's 10,240-character budget for a role's policies).
        partitions = sorted({partition_of(region) for region in all_regions()})
        return [arn(partition, "*", Aws.ACCOUNT_ID) for partition in partitions]
    regions = list(settings.regions)
    if not regions:
        return [arn(Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID)]
    return [arn(partition_of(region), region, Aws.ACCOUNT_ID) for region in regions]


def hub_arns(settings: Settings) -> list[str]:
    """This stack's account's hub in each region the audit reads (GetFindings)."""
    return _regional(settings, hub_arn)


def default_product_arns(settings: Settings) -> list[str]:
    """This stack's account's default product in each region the audit reads (and so
    imports into): the regions the function resolves, in the partition the function
    computes for each (the stack's own region and partition when none are set)."""
    return _regional(settings, product_arn)


def acknowledge_every_region(construct: IConstruct, settings: Settings) -> None:
    """With regions=all, the import's resource is the default product in every region of
    the partition (a region wildcard): cdk-nag's IAM5 acknowledged for exactly that ARN."""
    if settings.regions != (ALL_REGIONS,):
        return
    for partition in sorted({partition_of(region) for region in all_regions()}):
        acknowledge(
            construct,
            "IAM5",
            "BatchImportFindings into this account's own default product in every region of "
            "the partition: regions=all audits (and so imports into) each enabled region.",
            f"Resource::arn:{partition}:securityhub:*:<AWS::AccountId>:product/"
            "<AWS::AccountId>/default",
        )
        acknowledge(
            construct,
            "IAM5",
            "GetFindings on this account's own hub in every region of the partition: "
            "regions=all reconciles the findings it imported in each enabled region.",
            f"Resource::arn:{partition}:securityhub:*:<AWS::AccountId>:hub/default",
        )

"""The Security Hub products the audit imports findings into: each account's default
product, in every audited region. The function's role may import into its own account's;
each member role into its member account's (with the default product, Security Hub takes
a finding only from the account it names)."""

from __future__ import annotations

from aws_cdk import Aws

from hsm_backup_audit.aws.cloudhsm import all_regions
from hsm_backup_audit.aws.security_hub import partition_of
from hsm_backup_audit.engine.asff import product_arn
from hsm_backup_audit.regions import ALL_REGIONS

from .settings import Settings

IMPORT_ACTION = "securityhub:BatchImportFindings"


def default_product_arns(settings: Settings) -> list[str]:
    """This stack's account's default product in each region the audit reads (and so
    imports into): the regions the function resolves, in the partition the function
    computes for each (the stack's own region and partition when none are set)."""
    regions = all_regions() if settings.regions == (ALL_REGIONS,) else list(settings.regions)
    if not regions:
        return [product_arn(Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID)]
    return [product_arn(partition_of(region), region, Aws.ACCOUNT_ID) for region in regions]

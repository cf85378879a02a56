"""The yardsticks: a bare boto3 paginator walk of the same listings, and the page floor."""

from __future__ import annotations

import math
from collections.abc import Sequence

import boto3

from hsm_backup_audit.constants import BACKUPS_PAGE_SIZE, CLUSTERS_PAGE_SIZE

from .server_process import Listing

CALLER = "123456789012"  # moto's account for the "testing" key


def role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/hsm-backup-audit-reader"


def _session_for(account_id: str, url: str) -> boto3.session.Session:
    if account_id == CALLER:
        return boto3.session.Session()
    sts = boto3.session.Session().client("sts", endpoint_url=url)
    role = sts.assume_role(RoleArn=role_arn(account_id), RoleSessionName="bench")
    creds = role["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def bare_walk(url: str, accounts: Sequence[str], regions: Sequence[str]) -> int:
    """Every listing the scan makes (clusters, owned, shared), one after another, with
    nothing done to the pages but counting. Returns the backups seen (shared included)."""
    seen = 0
    for account_id in accounts:
        session = _session_for(account_id, url)
        for region in regions:
            client = session.client("cloudhsmv2", region_name=region, endpoint_url=url)
            clusters = client.get_paginator("describe_clusters")
            for page in clusters.paginate(PaginationConfig={"PageSize": CLUSTERS_PAGE_SIZE}):
                assert isinstance(page["Clusters"], list)
            backups = client.get_paginator("describe_backups")
            for shared in (False, True):
                for page in backups.paginate(
                    Shared=shared, PaginationConfig={"PageSize": BACKUPS_PAGE_SIZE}
                ):
                    seen += len(page["Backups"])
    return seen


def pages(backups: int, page_size: int = BACKUPS_PAGE_SIZE) -> int:
    """Calls needed to list `backups` items: an empty listing still takes one call."""
    return max(1, math.ceil(backups / page_size))


def backup_page_floor(listings: Sequence[Listing], with_shared: bool = True) -> int:
    """DescribeBackups calls the API needs at the least. moto ignores Shared=True and
    answers the account's own backups again, so the shared listing costs the same."""
    return sum(pages(spec.backups) for spec in listings) * (2 if with_shared else 1)


def longest_listing_pages(listings: Sequence[Listing]) -> int:
    return max(pages(spec.backups) for spec in listings)

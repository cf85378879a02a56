"""Assumed-role credentials refresh themselves: botocore assumes the role again before they
expire, so a listing that starts after the first hour is not refused with ExpiredToken.

STS here issues credentials that expire two minutes after they are issued (well inside
botocore's 10-minute mandatory refresh window), as a role whose session lasts an hour
does for a listing that starts 58 minutes into the run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hsm_backup_audit.constants import Status
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault

from .conftest import Estate, run_scan

MEMBER = "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
EXPIRATION = re.compile(rb"<Expiration>[^<]*</Expiration>")
ACCESS_KEY = re.compile(rb"<AccessKeyId>([^<]*)</AccessKeyId>")


def expiring_in(seconds: int, issued: list[str]) -> Fault:
    """AssumeRole answers whose credentials expire `seconds` after they are issued; the
    access key of each is appended to `issued`."""

    def rewrite(raw: bytes) -> bytes:
        issued.extend(key.decode() for key in ACCESS_KEY.findall(raw))
        soon = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return EXPIRATION.sub(f"<Expiration>{soon}</Expiration>".encode(), raw)

    return Fault("rewrite", operation="AssumeRole", rewrite=rewrite)


def member_keys(estate: Estate, operation: str) -> list[str]:
    return [c.access_key for c in estate.layer.calls_to(operation) if c.access_key != "testing"]


def test_credentials_about_to_expire_are_assumed_again_before_a_listing(
    estate: Estate,
) -> None:
    # Given a member account, and STS issuing credentials that expire in 2 minutes
    Fleet(MEMBER).add_cluster(PRIMARY, retention_days=379)
    issued: list[str] = []
    estate.layer.faults = [expiring_in(120, issued)]
    # When the audit reads it
    report = run_scan(estate, regions=[PRIMARY], role_arns=[ROLE])
    # Then the role was assumed again before its listings, which went out with the new
    # credentials (never the first ones), and the account was read completely
    assert len(estate.layer.calls_to("AssumeRole")) == len(issued) >= 2
    used = set(member_keys(estate, "DescribeClusters") + member_keys(estate, "DescribeBackups"))
    assert used and used <= set(issued[1:])
    assert issued[0] not in used
    assert report.status is not Status.INCOMPLETE
    assert MEMBER in report.scope.accounts


def test_credentials_with_an_hour_left_are_not_assumed_again(estate: Estate) -> None:
    # Given a member account, and STS's own answer (credentials for an hour)
    Fleet(MEMBER).add_cluster(PRIMARY, retention_days=379)
    # When the audit reads it
    report = run_scan(estate, regions=[PRIMARY], role_arns=[ROLE])
    # Then the role was assumed once, and every listing used those credentials
    assert len(estate.layer.calls_to("AssumeRole")) == 1
    keys = set(member_keys(estate, "DescribeClusters") + member_keys(estate, "DescribeBackups"))
    assert len(keys) == 1
    assert report.status is not Status.INCOMPLETE

"""Access faults through the command line: one region denied, one assumed account denied,
credentials that expire. Each is an error entry; the rest is still reported; exit 3."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Call, Fault

from .conftest import (
    ACCOUNT,
    PRIMARY_BACKUPS,
    Estate,
    errors_of,
    finding_ids,
    run_cli,
)

MEMBER, REFUSED = "111111111111", "222222222222"


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/hsm-backup-audit-member"


def test_access_denied_in_one_region(estate: Estate, capsys: pytest.CaptureFixture[str]) -> None:
    # Given every CloudHSM call in SECONDARY denied
    estate.layer.faults = [Fault("deny", region=SECONDARY)]
    # When the CLI audits both regions
    code, document = run_cli(capsys, estate)
    # Then exit 3: each SECONDARY listing is an error entry, and PRIMARY is reported in full
    assert code == ExitCode.INCOMPLETE
    assert document["status"] == "INCOMPLETE"
    denied = "CloudHsmAccessDeniedException"
    assert errors_of(document) == {
        (ACCOUNT, SECONDARY, "DescribeClusters", denied),
        (ACCOUNT, SECONDARY, "DescribeBackups", denied),
    }
    assert document["summary"]["by_region"][PRIMARY]["backups_scanned"] == PRIMARY_BACKUPS
    assert document["summary"]["backups_scanned"] == PRIMARY_BACKUPS
    assert estate.pinned in finding_ids(document)
    # and a denial is not retried
    assert len(estate.layer.calls_to("DescribeClusters")) == 2


def test_assume_role_denied_for_one_account(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a member account with one NeverExpires backup, and a second whose role is denied
    member = Fleet(MEMBER)
    cluster = member.add_cluster(PRIMARY, retention_days=379)
    member.add_daily_backups(PRIMARY, cluster, days=3, now=estate.now)
    pinned = member.add_backup(
        PRIMARY, cluster, created=estate.now - timedelta(days=5), never_expires=True
    )

    def refused(call: Call) -> bool:
        return REFUSED in str(call.params.get("RoleArn", ""))

    estate.layer.faults = [Fault("deny", operation="AssumeRole", when=refused, code="AccessDenied")]
    # When the CLI audits its own account and both members
    code, document = run_cli(
        capsys, estate, "--role-arn", role(MEMBER), "--role-arn", role(REFUSED)
    )
    # Then exit 3, the refused account is named, and both other accounts are reported
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {(REFUSED, "global", "AssumeRole", "AccessDenied")}
    assert document["scope"]["accounts"] == [ACCOUNT, MEMBER]
    by_account = document["summary"]["by_account"]
    assert by_account[ACCOUNT]["backups_scanned"] == estate.total
    assert by_account[MEMBER]["backups_scanned"] == 4
    assert REFUSED not in by_account
    assert {pinned, estate.pinned, estate.non_fips} <= set(finding_ids(document))


def test_credentials_that_expire_mid_run(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials good for GetCallerIdentity and DescribeClusters, then expired
    estate.layer.faults = [Fault("expired", operation="DescribeBackups")]
    # When the CLI audits both regions
    code, document = run_cli(capsys, estate)
    # Then exit 3 with one entry per backup listing; nothing is called compliant, and
    # no cluster is called stale on backups that could not be read
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {
        (ACCOUNT, region, "DescribeBackups", "ExpiredTokenException")
        for region in (PRIMARY, SECONDARY)
    }
    assert len(document["errors"]) == 4  # owned and shared, in each region
    assert document["summary"]["backups_scanned"] == 0
    assert "stale-cluster" not in document["summary"]["by_rule"]


def test_credentials_expired_from_the_start(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials that every service refuses as expired
    estate.layer.faults = [Fault("expired")]
    # When the CLI audits
    code, document = run_cli(capsys, estate)
    # Then exit 3, a single global entry for the identity call, and no listing was tried
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {
        ("unknown", "global", "GetCallerIdentity", "ExpiredTokenException")
    }
    assert document["summary"]["backups_scanned"] == 0
    assert estate.layer.calls_to("DescribeBackups") == []

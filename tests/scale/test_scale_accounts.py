"""Member accounts through AssumeRole: each seen with its own credentials, each reported
under its own account id, and an account that cannot be reached is an error entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode, Status
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

CALLER = "123456789012"  # moto's default account, for the "testing" access key
MEMBER_A, MEMBER_B = "111111111111", "222222222222"
REGION = "us-east-1"


def role(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/hsm-backup-audit-reader"


def seed_member(account_id: str, now: datetime, days: int) -> str:
    """`days` healthy daily backups and one NeverExpires backup in the member account."""
    fleet = Fleet(account_id)
    cluster = fleet.add_cluster(REGION, retention_days=90)
    fleet.add_daily_backups(REGION, cluster, days=days, now=now)
    return fleet.add_backup(REGION, cluster, created=now - timedelta(days=3), never_expires=True)


def test_moto_answers_assumed_role_credentials_from_the_account_in_the_role_arn(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given backups only in member account A, none in the caller's account
    url, _ = server_fleet
    seed_member(MEMBER_A, now, days=4)
    # When the scan assumes A's role
    report = scan(
        ScanRequest(
            regions=[REGION], policy=Policy(), role_arns=[role(MEMBER_A)], endpoint_url=url, now=now
        )
    )
    # Then A's backups are read with the assumed credentials (not the caller's key), and
    # moto served them from A's backend, so they are reported under A alone
    assume = fleet_server.layer.calls_to("AssumeRole")
    assert len(assume) == 1
    member_keys = {c.access_key for c in fleet_server.layer.calls_to("DescribeBackups")} - {
        "testing"
    }
    assert len(member_keys) == 1
    assert next(iter(member_keys)).startswith("ASIA")
    assert report.by_account == {CALLER: 0, MEMBER_A: 5}
    assert report.scope.accounts == (CALLER, MEMBER_A)


def test_two_member_accounts_through_scan_each_finding_carries_its_account(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given two member accounts, each with one NeverExpires backup
    url, _ = server_fleet
    pinned_a = seed_member(MEMBER_A, now, days=5)
    pinned_b = seed_member(MEMBER_B, now, days=7)
    # When one scan assumes both roles with an external id
    report = scan(
        ScanRequest(
            regions=[REGION],
            policy=Policy(),
            role_arns=[role(MEMBER_A), role(MEMBER_B)],
            external_id="audit-2026",
            endpoint_url=url,
            now=now,
        )
    )
    # Then each finding names the account its backup lives in, and the summary breaks down
    document = to_document(report)
    pinned = {f["backup_id"]: f["account_id"] for f in document["findings"]}
    assert pinned == {pinned_a: MEMBER_A, pinned_b: MEMBER_B}
    assert document["scope"]["accounts"] == [CALLER, MEMBER_A, MEMBER_B]
    by_account = document["summary"]["by_account"]
    assert by_account[MEMBER_A] == {"backups_scanned": 6, "findings": 1}
    assert by_account[MEMBER_B] == {"backups_scanned": 8, "findings": 1}
    assert by_account[CALLER] == {"backups_scanned": 0, "findings": 0}  # audited, no backups
    # And AssumeRole carried the external id and a clear session name
    for call in fleet_server.layer.calls_to("AssumeRole"):
        assert call.params["ExternalId"] == "audit-2026"
        assert call.params["RoleSessionName"] == "hsm-backup-audit"


def run_cli(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    """The installed console script in its own process, as a user runs it."""
    script = os.path.join(os.path.dirname(sys.executable), "hsm-backup-audit")
    env = {**os.environ, "AWS_ENDPOINT_URL": ""}
    env.pop("AWS_ENDPOINT_URL")
    done = subprocess.run(
        [script, "scan", "--format", "json", "--endpoint-url", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_cli_two_member_accounts_end_to_end(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given two member accounts behind a moto server
    url, _ = server_fleet
    fresh = datetime.now().astimezone()
    seed_member(MEMBER_A, fresh, days=3)
    seed_member(MEMBER_B, fresh, days=2)
    # When the command line assumes both roles
    code, document = run_cli(
        url,
        "--region",
        REGION,
        "--role-arn",
        role(MEMBER_A),
        "--role-arn",
        role(MEMBER_B),
        "--external-id",
        "audit-2026",
        "--max-workers",
        "4",
    )
    # Then both are reported, each NeverExpires finding under its own account
    assert code == ExitCode.NON_COMPLIANT
    assert document["status"] == "NON_COMPLIANT"
    assert sorted(f["account_id"] for f in document["findings"]) == [MEMBER_A, MEMBER_B]
    assert document["summary"]["by_account"][MEMBER_A]["backups_scanned"] == 4
    assert document["summary"]["by_account"][MEMBER_B]["backups_scanned"] == 3
    # And no page asked for more than the API allows
    for call in fleet_server.layer.calls_to("DescribeBackups"):
        assert call.params["MaxResults"] == 50
    for call in fleet_server.layer.calls_to("DescribeClusters"):
        assert call.params["MaxResults"] == 25


def test_a_role_that_cannot_be_assumed_is_an_error_entry_and_the_others_are_reported(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer
) -> None:
    # Given two member accounts, and B's role refused by STS
    url, _ = server_fleet
    fresh = datetime.now().astimezone()
    seed_member(MEMBER_A, fresh, days=3)
    seed_member(MEMBER_B, fresh, days=3)
    fleet_server.layer.faults.append(
        Fault(
            "deny",
            operation="AssumeRole",
            when=lambda call: call.params.get("RoleArn") == role(MEMBER_B),
        )
    )
    # When the command line is asked to audit both
    code, document = run_cli(
        url, "--region", REGION, "--role-arn", role(MEMBER_A), "--role-arn", role(MEMBER_B)
    )
    # Then the run is INCOMPLETE (exit 3) with one error entry for B's AssumeRole
    assert code == ExitCode.INCOMPLETE
    assert document["status"] == "INCOMPLETE"
    [error] = document["errors"]
    assert error["operation"] == "AssumeRole"
    assert error["account_id"] == MEMBER_B
    # And account A is still reported in full
    assert document["summary"]["by_account"][MEMBER_A]["backups_scanned"] == 4
    assert [f["account_id"] for f in document["findings"]] == [MEMBER_A]
    assert MEMBER_B not in document["summary"]["by_account"]
    assert role(MEMBER_B) in [
        c.params.get("RoleArn") for c in fleet_server.layer.calls_to("AssumeRole")
    ]


def test_a_malformed_role_arn_is_an_error_entry_when_scan_is_called_directly(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer
) -> None:
    # Given a member account and a role "ARN" that is not one
    url, _ = server_fleet
    seed_member(MEMBER_A, datetime.now().astimezone(), days=3)
    # When the engine is asked to assume both
    report = scan(
        ScanRequest(
            regions=[REGION],
            policy=Policy(),
            role_arns=[role(MEMBER_A), "hsm-backup-audit-reader"],
            endpoint_url=url,
        )
    )
    # Then it is an error entry, never sent to STS, and the good account is reported
    assert report.status is Status.INCOMPLETE
    assert [(e.account_id, e.operation) for e in report.errors] == [("unknown", "AssumeRole")]
    assert report.by_account[MEMBER_A] == 4
    assert "hsm-backup-audit-reader" not in [
        c.params.get("RoleArn") for c in fleet_server.layer.calls_to("AssumeRole")
    ]


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--role-arn", "hsm-backup-audit-reader", "not an IAM role ARN"),
        ("--role-arn", "arn:aws:iam::12345:role/x", "not an IAM role ARN"),
        ("--external-id", "x", "must be 2 to 1224 characters"),
    ],
)
def test_the_command_line_refuses_a_bad_role_or_external_id_with_exit_2(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a bad role ARN or external id is given / Then exit 2 and one line, before any call
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--region", REGION, option, value])
    assert exited.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert says in err

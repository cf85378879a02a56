"""`hsm-backup-audit scan --organization` against a moto server, as a user would run it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.organization import Organization
from hsm_backup_audit_demo.server import Fault, FleetServer


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--format", "json", "--endpoint-url", url, "--region", PRIMARY, *args])
    return code, json.loads(capsys.readouterr().out)


def healthy(account_id: str) -> None:
    fleet = Fleet(account_id)
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=3, now=datetime.now().astimezone())


def test_organization_audits_each_member_through_the_default_role(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an organization of two members with healthy backups
    url, _ = server_fleet
    org = Organization.create(url)
    members = org.add_accounts(2)
    for account_id in [DEFAULT_ACCOUNT, *members]:
        healthy(account_id)
    # When the CLI scans the organization
    code, document = run(capsys, url, "--organization")
    # Then exit 0, all three accounts in the report, each member through the documented role
    assert code == ExitCode.COMPLIANT
    assert document["scope"]["accounts"] == [DEFAULT_ACCOUNT, *sorted(members)]
    assert sorted(c.params["RoleArn"] for c in fleet_server.layer.calls_to("AssumeRole")) == [
        f"arn:aws:iam::{m}:role/hsm-backup-audit-member" for m in sorted(members)
    ]


def test_organization_with_a_unit_and_a_role_name(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a member at the root and one in a unit
    url, _ = server_fleet
    org = Organization.create(url)
    org.add_accounts(1)
    unit = org.add_unit(org.root, "workloads")
    (inside,) = org.add_accounts(1, parent=unit)
    # When the CLI scans only that unit through another role name
    code, document = run(
        capsys,
        url,
        "--organization",
        "--organizational-unit",
        unit,
        "--member-role-name",
        "reader",
    )
    # Then only the caller and the unit's member
    assert code == ExitCode.COMPLIANT
    assert document["scope"]["accounts"] == [DEFAULT_ACCOUNT, inside]
    assert [c.params["RoleArn"] for c in fleet_server.layer.calls_to("AssumeRole")] == [
        f"arn:aws:iam::{inside}:role/reader"
    ]


def test_list_accounts_denied_exits_3(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = server_fleet
    Organization.create(url).add_accounts(1)
    fleet_server.layer.faults = [
        Fault("deny", operation="ListAccounts", code="AccessDeniedException")
    ]
    code, document = run(capsys, url, "--organization")
    assert code == ExitCode.INCOMPLETE
    assert document["status"] == "INCOMPLETE"
    assert [(e["operation"], e["code"]) for e in document["errors"]] == [
        ("ListAccounts", "AccessDeniedException")
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--organization", "--organizational-unit", "r-abcd"], "not an organizational unit"),
        (["--organization", "--organizational-unit", "ou-ABCD-12345678"], "organizational unit"),
        (["--organization", "--member-role-name", "bad name"], "not an IAM role name"),
        (["--organization", "--member-role-name", "x" * 65], "not an IAM role name"),
        (["--organization", "--member-role-name", "path/name"], "not an IAM role name"),
        (["--member-role-name", "reader"], "need --organization"),
        (["--organizational-unit", "ou-abcd-12345678"], "need --organization"),
    ],
)
def test_malformed_organization_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    # When the CLI is given a malformed value, then exit 2 and one line, before any call
    with pytest.raises(SystemExit) as raised:
        code = main(["scan", "--region", PRIMARY, "--endpoint-url", "http://127.0.0.1:9", *args])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert raised.value.code == ExitCode.USAGE
    assert says in err
    assert len(err.strip().splitlines()) == 1

"""`scan()` in organization mode: the accounts come from Organizations, each member is
audited through one role name, the caller's own account through its own credentials.
Members are moto accounts reached with sts.assume_role (moto lets any role be assumed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.audit import Report
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.organization import Organization
from hsm_backup_audit_demo.server import Call, Fault, FleetServer

FAST = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=3)
ROLE = "hsm-backup-audit-member"


def seed(account_id: str, now: datetime, *, never_expires: bool = False) -> str:
    """One cluster with two daily backups; the newest pinned when asked. Its id."""
    fleet = Fleet(account_id)
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    ids = fleet.add_daily_backups(PRIMARY, cluster, days=2, now=now)
    fleet.backend(PRIMARY).backups[ids[0]].never_expires = never_expires
    return ids[0]


def errors(report: Report) -> set[tuple[str, str, str, str]]:
    return {(e.account_id, e.region, e.operation, e.code) for e in report.errors}


def org_scan(now: datetime, **changes: Any) -> Report:
    fields: dict[str, Any] = {
        "regions": [PRIMARY],
        "policy": Policy(),
        "now": now,
        "organization": True,
        "limits": FAST,
    }
    fields.update(changes)
    return scan(ScanRequest(**fields))


@pytest.fixture
def server_org(server_fleet: Any, fleet_server: FleetServer) -> Iterator[tuple[str, Organization]]:
    url, _ = server_fleet
    organization = Organization.create(url)
    yield url, organization


def test_every_active_member_is_audited_beyond_one_page(aws: None, now: datetime) -> None:
    # Given an organization of 24 members (two pages of ListAccounts), 2 of them closed,
    # one member holding a NeverExpires backup, and backups in the closed accounts too
    org = Organization.create()
    members = org.add_accounts(24)
    closed = members[:2]
    newest = {
        account_id: seed(account_id, now, never_expires=account_id == members[5])
        for account_id in [DEFAULT_ACCOUNT, *members]
    }
    for account_id in closed:
        org.close(account_id)
    # When the organization is scanned
    report = org_scan(now)
    # Then the caller and every active member are audited, and no closed account
    active = sorted(members[2:])
    assert report.scope.accounts == (DEFAULT_ACCOUNT, *active)
    assert set(report.by_account) == {DEFAULT_ACCOUNT, *active}
    assert report.backups_scanned == 2 * 23
    assert {(f.account_id, f.backup_id) for f in report.findings} == {
        (members[5], newest[members[5]])
    }
    assert report.status is Status.NON_COMPLIANT
    assert report.errors == []
    # and the closed accounts are named in the report, with their state
    assert report.scope.accounts_skipped == tuple((a, "SUSPENDED") for a in sorted(closed))
    assert to_document(report)["scope"]["accounts_skipped"] == dict.fromkeys(closed, "SUSPENDED")


def test_only_the_organizational_units_asked_for(aws: None, now: datetime) -> None:
    # Given members at the root, in a unit and in its child unit
    org = Organization.create()
    at_root = org.add_accounts(2)
    unit = org.add_unit(org.root, "workloads")
    in_unit = org.add_accounts(2, parent=org.add_unit(unit, "prod")) + org.add_accounts(
        1, parent=unit
    )
    for account_id in [DEFAULT_ACCOUNT, *at_root, *in_unit]:
        seed(account_id, now)
    # When the scan is limited to the unit
    report = org_scan(now, organizational_units=[unit])
    # Then the caller's own account and the unit's members (with its child's), nothing else
    assert set(report.by_account) == {DEFAULT_ACCOUNT, *in_unit}
    assert report.status is Status.COMPLIANT


def test_member_roles_by_name_with_the_external_id_and_the_caller_not_assumed(
    server_org: tuple[str, Organization], fleet_server: FleetServer, now: datetime
) -> None:
    # Given three members; one is also given by ARN with another role name
    url, org = server_org
    members = org.add_accounts(3)
    given = f"arn:aws:iam::{members[0]}:role/custom-reader"
    fleet_server.layer.clear()
    # When scanned with a role name and an external id
    report = org_scan(
        now,
        endpoint_url=url,
        member_role_name="hsm-reader",
        external_id="ext-123",
        role_arns=[given],
    )
    # Then each other member is assumed once through the named role, all with the external
    # id; the caller's own account is never assumed; the ARN given wins for its account
    assumed = fleet_server.layer.calls_to("AssumeRole")
    assert sorted(call.params["RoleArn"] for call in assumed) == sorted(
        [given, *(f"arn:aws:iam::{m}:role/hsm-reader" for m in members[1:])]
    )
    assert {call.params.get("ExternalId") for call in assumed} == {"ext-123"}
    assert set(report.by_account) == {DEFAULT_ACCOUNT, *members}
    assert report.status is Status.COMPLIANT


def test_a_member_whose_role_is_refused_is_an_error_entry(
    server_org: tuple[str, Organization], fleet_server: FleetServer, now: datetime
) -> None:
    # Given two members; the role of one is refused
    url, org = server_org
    member, refused = org.add_accounts(2)
    seed(member, now)

    def refused_role(call: Call) -> bool:
        return refused in str(call.params.get("RoleArn", ""))

    fleet_server.layer.faults = [
        Fault("deny", operation="AssumeRole", when=refused_role, code="AccessDenied")
    ]
    # When the organization is scanned
    report = org_scan(now, endpoint_url=url)
    # Then INCOMPLETE: the refused account is named, the others are reported
    assert report.status is Status.INCOMPLETE
    assert errors(report) == {(refused, "global", "AssumeRole", "AccessDenied")}
    assert set(report.by_account) == {DEFAULT_ACCOUNT, member}
    assert report.by_account[member] == 2


def test_list_accounts_denied_is_incomplete_never_zero_accounts(
    server_org: tuple[str, Organization], fleet_server: FleetServer, now: datetime
) -> None:
    # Given an organization of members with clean backups, and ListAccounts denied
    url, org = server_org
    for account_id in [DEFAULT_ACCOUNT, *org.add_accounts(2)]:
        seed(account_id, now)
    fleet_server.layer.faults = [
        Fault("deny", operation="ListAccounts", code="AccessDeniedException")
    ]
    # When the organization is scanned
    report = org_scan(now, endpoint_url=url)
    # Then the run is INCOMPLETE with the failed listing named; the caller's account is
    # still audited, and nothing claims the organization is compliant
    assert report.status is Status.INCOMPLETE
    assert errors(report) == {(DEFAULT_ACCOUNT, "global", "ListAccounts", "AccessDeniedException")}
    assert set(report.by_account) == {DEFAULT_ACCOUNT}
    assert fleet_server.layer.calls_to("AssumeRole") == []

"""End to end through a moto server: a backup owned by the calling account and shared with an
audited member account is the owner's, whichever account's listing answers first (issue 9).

moto ignores DescribeBackups' `Shared` and has no backup sharing, so the same Backup object is
seeded into both accounts' backends, and the fault layer answers each listing as CloudHSM
would: the owned listing with the account's own ARNs, the shared listing with the others'.
It also holds one listing back, to choose which answer arrives first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.cloudhsmv2.models import cloudhsmv2_backends

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import Rule, Status
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import Fleet
from hsm_backup_audit_demo.server import Call, Fault, FleetServer

CALLER = "123456789012"  # moto's account for the "testing" key: the owner here
MEMBER = "111111111111"  # reached through AssumeRole: the account the backup is shared with
REGION = "us-east-1"
HOLD_SECONDS = 1.5


def account_of(call: Call) -> str:
    return CALLER if call.access_key == "testing" else MEMBER


def as_cloudhsm_answers(
    account: str, shared: bool, hold: float
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(payload: dict[str, Any]) -> dict[str, Any]:
        time.sleep(hold)
        mine = [b for b in payload.get("Backups", []) if f":{account}:" in b["BackupArn"]]
        others = [b for b in payload.get("Backups", []) if b not in mine]
        return {**payload, "Backups": others if shared else mine}

    return mutate


def listing(account: str, shared: bool, hold: float) -> Fault:
    def when(call: Call) -> bool:
        return account_of(call) == account and bool(call.params.get("Shared")) is shared

    return Fault(
        "mutate",
        operation="DescribeBackups",
        when=when,
        mutate=as_cloudhsm_answers(account, shared, hold),
    )


def audit_with(fleet_server: FleetServer, url: str, now: datetime, sharer_first: bool) -> Any:
    fleet_server.layer.clear()
    owner_hold = HOLD_SECONDS if sharer_first else 0.0
    fleet_server.layer.faults = [
        listing(CALLER, False, owner_hold),
        listing(CALLER, True, 0.0),
        listing(MEMBER, False, 0.0),
        listing(MEMBER, True, 0.0 if sharer_first else HOLD_SECONDS),
    ]
    return scan(
        ScanRequest(
            regions=[REGION],
            policy=Policy(),
            role_arns=[f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-reader"],
            endpoint_url=url,
            now=now,
        )
    )


@pytest.mark.parametrize("sharer_first", [True, False])
def test_the_owners_view_wins_whichever_account_answers_first(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime, sharer_first: bool
) -> None:
    # Given the caller's cluster (30 days' retention), fresh daily backups, and one backup
    # 100 days old that the caller shares with the member account
    url, fleet = server_fleet
    cluster = fleet.add_cluster(REGION, retention_days=30)
    fleet.add_daily_backups(REGION, cluster, days=3, now=now)
    old = fleet.add_backup(REGION, cluster, created=now - timedelta(days=100))
    cloudhsmv2_backends[MEMBER][REGION].backups[old] = fleet.backend(REGION).backups[old]
    # When the member's answer arrives first (or last)
    report = audit_with(fleet_server, url, now, sharer_first)
    # Then the backup is the owner's: counted there and overdue under its cluster's retention
    assert report.errors == []
    assert report.by_account == {CALLER: 4, MEMBER: 0}
    assert [(f.rule, f.account_id, f.backup_id, f.shared) for f in report.findings] == [
        (Rule.OVERDUE, CALLER, old, False)
    ]
    assert report.status is Status.NON_COMPLIANT
    # And the member's listings did see it, as shared only
    shared_calls = [
        c
        for c in fleet_server.layer.calls_to("DescribeBackups")
        if account_of(c) == MEMBER and c.params.get("Shared")
    ]
    assert shared_calls


def test_both_arrival_orders_give_the_same_report(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    url, fleet = server_fleet
    cluster = fleet.add_cluster(REGION, retention_days=30)
    fleet.add_daily_backups(REGION, cluster, days=2, now=now)
    old = fleet.add_backup(REGION, cluster, created=now - timedelta(days=100), never_expires=True)
    cloudhsmv2_backends[MEMBER][REGION].backups[old] = fleet.backend(REGION).backups[old]
    documents = [
        to_document(audit_with(fleet_server, url, now, sharer_first))
        for sharer_first in (True, False)
    ]
    assert documents[0] == documents[1]
    assert documents[0]["summary"]["by_account"][CALLER]["backups_scanned"] == 3
    assert {f["account_id"] for f in documents[0]["findings"]} == {CALLER}

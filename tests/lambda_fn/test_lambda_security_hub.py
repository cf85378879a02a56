"""The handler with SECURITY_HUB=true over a changing fleet of two accounts: every finding
above INFO lands in its own account's Security Hub, a fixed one is archived, an INCOMPLETE
run archives nothing it could not see, and a refusal is in the digest, not the status.

A moto server behind the fault layer (reached through AWS_ENDPOINT_URL as in Lambda); the
member account is reached through AssumeRole. moto's GetFindings ignores filters, so
findings are read back by Id from each account's Security Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    Inbox,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import Fault, FleetServer
from tests.asff_model import assert_valid_asff

OWN = "123456789012"
MEMBER = "222222222222"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
IMPORT_PATH = "/findings/import"


def hub(account: str, region: str) -> dict[str, dict[str, Any]]:
    """One account's Security Hub findings in one region, by Id (duplicates would show)."""
    stored = securityhub_backends[account][region].findings
    by_id = {f.id: f.data for f in stored}
    assert len(by_id) == len(stored), "a finding was imported twice"
    return by_id


def hub_id(rule: str, account: str, region: str, cluster: str, backup: str | None) -> str:
    return f"hsm-backup-audit/{finding_id(rule, account, region, cluster, backup)}"


@dataclass
class Estate:
    pki: str
    pinned: str
    legacy: str
    legacy_backups: list[str]
    member_cluster: str
    member_pinned: str
    pending: str


@pytest.fixture
def setting(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[FleetServer, Inbox]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    for key in ("POLICY_FILE", "EXTERNAL_ID", "MAX_WORKERS", "WEEKLY_DIGEST_DAY"):
        monkeypatch.delenv(key, raising=False)
    inbox = create_topic_and_inbox()
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", create_report_bucket())
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    monkeypatch.setenv("NOTIFY", "always")
    monkeypatch.setenv("MEMBER_ROLE_ARNS", MEMBER_ROLE)
    monkeypatch.setenv("SECURITY_HUB", "true")
    for account in (OWN, MEMBER):  # no Security Hub state left from another test
        for region in (PRIMARY, SECONDARY):
            securityhub_backends[account][region].findings.clear()
    return fleet_server, inbox


def seed(now: datetime) -> Estate:
    own, member = Fleet(OWN), Fleet(MEMBER, seed=11)
    pki = own.add_cluster(PRIMARY, retention_days=90)
    own.add_daily_backups(PRIMARY, pki, days=30, now=now)
    pinned = own.add_backup(PRIMARY, pki, created=now - timedelta(days=10), never_expires=True)
    pending = own.add_backup(
        PRIMARY,
        pki,
        created=now - timedelta(days=3),
        state="PENDING_DELETION",
        delete_at=now + timedelta(days=6),
    )
    legacy = own.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
    legacy_backups = own.add_daily_backups(SECONDARY, legacy, days=2, now=now, mode="NON_FIPS")
    member_cluster = member.add_cluster(SECONDARY, retention_days=90)
    member.add_daily_backups(SECONDARY, member_cluster, days=5, now=now)
    member_pinned = member.add_backup(
        SECONDARY, member_cluster, created=now - timedelta(days=2), never_expires=True
    )
    return Estate(pki, pinned, legacy, legacy_backups, member_cluster, member_pinned, pending)


def run(inbox: Inbox) -> tuple[dict[str, Any], str]:
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    messages = inbox.messages()
    return summary, messages[-1]["Message"]


def sent_documents(server: FleetServer) -> list[dict[str, Any]]:
    return [doc for call in server.layer.calls_to(IMPORT_PATH) for doc in call.params["Findings"]]


def test_findings_follow_the_fleet_into_each_accounts_security_hub(
    setting: tuple[FleetServer, Inbox],
) -> None:
    server, inbox = setting
    now = datetime.now(UTC)
    estate = seed(now)
    pinned = hub_id("never-expires", OWN, PRIMARY, estate.pki, estate.pinned)
    legacy = [
        hub_id("mode", OWN, SECONDARY, estate.legacy, backup) for backup in estate.legacy_backups
    ]
    member = hub_id("never-expires", MEMBER, SECONDARY, estate.member_cluster, estate.member_pinned)

    # Run 1: every finding above INFO is in its own account's Security Hub, ACTIVE and FAILED
    summary, digest = run(inbox)
    assert summary["status"] == "NON_COMPLIANT"
    assert summary["security_hub"] == {"imported": 4, "archived": 0, "refused": 0}
    assert "Security Hub: 4 findings imported, 0 archived" in digest
    assert set(hub(OWN, PRIMARY)) == {pinned}  # not the INFO pending-deletion one
    assert set(hub(OWN, SECONDARY)) == set(legacy)
    assert set(hub(MEMBER, SECONDARY)) == {member}
    assert hub(MEMBER, PRIMARY) == {}
    found = hub(OWN, PRIMARY)[pinned]
    assert (found["RecordState"], found["Compliance"]["Status"]) == ("ACTIVE", "FAILED")
    assert found["AwsAccountId"] == OWN
    assert found["ProductArn"] == f"arn:aws:securityhub:{PRIMARY}:{OWN}:product/{OWN}/default"
    assert found["GeneratorId"] == "hsm-backup-audit/never-expires"
    assert found["Severity"]["Label"] == "HIGH"
    (resource,) = found["Resources"]
    assert resource["Id"] == f"arn:aws:cloudhsm:{PRIMARY}:{OWN}:backup/{estate.pinned}"
    assert resource["Details"]["Other"]["Mode"] == "FIPS"
    assert resource["Details"]["Other"]["ClusterId"] == estate.pki
    member_found = hub(MEMBER, SECONDARY)[member]
    assert member_found["AwsAccountId"] == MEMBER
    assert member_found["ProductArn"].endswith(f":{MEMBER}:product/{MEMBER}/default")
    first_created = found["CreatedAt"]

    # Run 2: the pinned backup was fixed; it is archived and PASSED, nothing is added
    server.layer.calls.clear()
    Fleet(OWN).backend(PRIMARY).backups[estate.pinned].never_expires = False
    summary, digest = run(inbox)
    assert summary["security_hub"] == {"imported": 3, "archived": 1, "refused": 0}
    assert "3 findings imported, 1 archived" in digest
    fixed = hub(OWN, PRIMARY)[pinned]
    assert (fixed["RecordState"], fixed["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
    assert fixed["CreatedAt"] == first_created
    assert set(hub(OWN, PRIMARY)) == {pinned}
    still = hub(OWN, SECONDARY)[legacy[0]]
    assert (still["RecordState"], still["CreatedAt"]) == ("ACTIVE", first_created)
    for document in sent_documents(server):
        assert_valid_asff(document)

    # Run 3: eu-west-1's backups cannot be read (INCOMPLETE) while its NON_FIPS backups
    # were replaced: nothing there is archived, for the run could not see it
    server.layer.calls.clear()
    for backup in estate.legacy_backups:
        del Fleet(OWN).backend(SECONDARY).backups[backup]
    server.layer.faults.append(Fault("deny", operation="DescribeBackups", region=SECONDARY))
    summary, digest = run(inbox)
    assert summary["status"] == "INCOMPLETE"
    assert summary["resolved_findings"] == 0
    assert summary["security_hub"] == {"imported": 0, "archived": 0, "refused": 0}
    for finding in hub(OWN, SECONDARY).values():
        assert (finding["RecordState"], finding["Compliance"]["Status"]) == ("ACTIVE", "FAILED")
    assert hub(MEMBER, SECONDARY)[member]["RecordState"] == "ACTIVE"
    assert sent_documents(server) == []  # nothing seen to import, nothing unseen archived


def test_a_refused_import_is_in_the_digest_and_leaves_the_status_alone(
    setting: tuple[FleetServer, Inbox], capsys: Any
) -> None:
    # Given Security Hub not enabled in eu-west-1 (every import there refused)
    server, inbox = setting
    estate = seed(datetime.now(UTC))
    server.layer.faults.append(
        Fault("deny", operation=IMPORT_PATH, region=SECONDARY, code="InvalidAccessException")
    )
    # When the handler runs
    summary, digest = run(inbox)
    # Then the audit's status is its own, the invocation succeeds, us-east-1 went in,
    assert summary["status"] == "NON_COMPLIANT"
    assert summary["security_hub"] == {"imported": 1, "archived": 0, "refused": 3}
    assert set(hub(OWN, PRIMARY)) == {
        hub_id("never-expires", OWN, PRIMARY, estate.pki, estate.pinned)
    }
    # and the digest names each account and region Security Hub refused
    assert "SECURITY HUB ERRORS (2): 3 findings did not reach Security Hub" in digest
    assert f"{OWN} {SECONDARY} BatchImportFindings: InvalidAccessException" in digest
    assert f"{MEMBER} {SECONDARY} BatchImportFindings: InvalidAccessException" in digest
    assert '"security hub import failed"' in capsys.readouterr().out  # and the log


def test_with_notify_changes_a_refused_import_still_publishes(
    setting: tuple[FleetServer, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given NOTIFY=changes, a first run that set the baseline, and nothing changed since
    server, inbox = setting
    monkeypatch.setenv("NOTIFY", "changes")
    monkeypatch.setenv("WEEKLY_DIGEST_DAY", "monday")
    seed(datetime.now(UTC))
    run(inbox)
    if datetime.now(UTC).weekday() == 0:
        monkeypatch.setenv("WEEKLY_DIGEST_DAY", "tuesday")  # no weekly digest today
    # When Security Hub refuses the member account's imports
    server.layer.faults.append(
        Fault("deny", operation=IMPORT_PATH, region=SECONDARY, code="AccessDeniedException")
    )
    summary, digest = run(inbox)
    # Then the digest goes out anyway, to say so
    assert summary["publish_reason"] == "security hub import failed"
    assert summary["published"] is True
    assert "SECURITY HUB ERRORS (2)" in digest


def test_where_findings_cannot_be_read_back_nothing_is_archived_until_a_run_reads_them(
    setting: tuple[FleetServer, Inbox],
) -> None:
    # Given a first run in Security Hub (the baseline), then the pinned backup fixed
    server, inbox = setting
    estate = seed(datetime.now(UTC))
    pinned = hub_id("never-expires", OWN, PRIMARY, estate.pki, estate.pinned)
    run(inbox)
    last_active = hub(OWN, PRIMARY)[pinned]
    Fleet(OWN).backend(PRIMARY).backups[estate.pinned].never_expires = False
    # When GetFindings is refused in us-east-1
    fault = Fault("deny", operation="/findings", region=PRIMARY, code="AccessDeniedException")
    server.layer.faults.append(fault)
    summary, digest = run(inbox)
    # Then the finding resolved since the baseline is not archived from the baseline: it
    # stays Security Hub's last ACTIVE document, and the digest says why
    assert summary["resolved_findings"] == 1
    assert summary["security_hub"]["archived"] == 0
    assert hub(OWN, PRIMARY)[pinned] == last_active
    assert (
        "SECURITY HUB NOT RECONCILED in 2 account-regions: not archived: could not read "
        "Security Hub's findings back there" in digest
    )
    # And the next run that reads it back archives Security Hub's own copy
    server.layer.faults.remove(fault)
    summary, digest = run(inbox)
    assert summary["security_hub"]["archived"] == 1
    archived = hub(OWN, PRIMARY)[pinned]
    assert (archived["RecordState"], archived["Compliance"]["Status"]) == ("ARCHIVED", "PASSED")
    assert archived["Resources"] == last_active["Resources"]

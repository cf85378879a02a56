"""Reconciliation without a baseline against a Security Hub that honours GetFindings' Filters
(tests/faults/fake_security_hub.py): the fleet is read from moto behind the fault layer,
the findings go to the fake. Each run reads back the audit's own ACTIVE findings, page by
page, with the five filters, and archives those it no longer reports; a GetFindings that is
refused archives nothing there and says so."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from hsm_backup_audit.aws.security_hub import AccountSessions, import_run
from hsm_backup_audit.engine.asff import document_id, product_arn
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.reconcile import STATE_FIELDS, get_findings_filters
from hsm_backup_audit.engine.report import to_json
from hsm_backup_audit.engine.security_hub_outcome import SecurityHubOutcome, security_hub_lines
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from tests.asff_model import assert_valid_asff

from .conftest import ACCOUNT, Estate, run_scan
from .fake_security_hub import FakeSecurityHub

OTHER_ACCOUNT = "999988887777"
GONE = 120  # findings of backups deleted since: more than one GetFindings page


@pytest.fixture
def fake_hub() -> Iterator[FakeSecurityHub]:
    hub = FakeSecurityHub().start()
    yield hub
    hub.stop()


def run(estate: Estate, hub: FakeSecurityHub) -> SecurityHubOutcome:
    report = run_scan(estate)
    sessions = AccountSessions(boto3.session.Session(), endpoint_url=estate.url)
    return import_run(report, Policy(), sessions, endpoint_url=hub.url)


def state_free(document: dict[str, Any]) -> dict[str, Any]:
    rest = {key: value for key, value in document.items() if key not in STATE_FIELDS}
    provider = dict(rest["FindingProviderFields"])
    provider.pop("Severity")
    return rest | {"FindingProviderFields": provider}


def seed(hub: FakeSecurityHub, pinned_id: str) -> None:
    """Findings of backups gone since (ours), another tool's, and ours of another account."""
    template = hub.findings[pinned_id]
    for index in range(GONE):
        gone = copy.deepcopy(template)
        gone["Id"] = f"{pinned_id[:-4]}g{index:03d}"
        gone["Resources"][0]["Details"]["Other"]["BackupId"] = f"backup-gone{index:08d}"
        hub.findings[gone["Id"]] = gone
    hub.findings["prowler-1"] = template | {
        "Id": "prowler-1",
        "GeneratorId": "prowler-cloudhsm_backup",
        "ProductArn": f"arn:aws:securityhub:{PRIMARY}::product/prowler/prowler",
    }
    elsewhere = template | {"Id": "hsm-backup-audit/elsewhere", "AwsAccountId": OTHER_ACCOUNT}
    hub.findings["hsm-backup-audit/elsewhere"] = elsewhere


def test_reconciliation_without_a_baseline_on_a_hub_that_honours_the_filters(
    estate: Estate, fake_hub: FakeSecurityHub
) -> None:
    # Given a first run's findings in Security Hub, and more that this run will not report
    first = run(estate, fake_hub)
    assert first.imported == 2 and first.archived == 0 and not first.problems
    (pinned_id,) = [
        key
        for key, doc in fake_hub.findings.items()
        if doc["Resources"][0]["Details"]["Other"].get("BackupId") == estate.pinned
    ]
    seed(fake_hub, pinned_id)
    last_active = copy.deepcopy(fake_hub.findings[pinned_id])
    fake_hub.get_findings_calls.clear()
    # When the pinned backup is fixed and the next run (no baseline) goes
    estate.fleet.backend(PRIMARY).backups[estate.pinned].never_expires = False
    outcome = run(estate, fake_hub)
    # Then the fixed one and every gone one are archived, read over two pages
    assert (outcome.imported, outcome.archived, outcome.problems) == (1, GONE + 1, ())
    assert outcome.reconciled
    assert "archived (reconciled with Security Hub" in "\n".join(security_hub_lines(outcome))
    archived = fake_hub.findings[pinned_id]
    assert archived["RecordState"] == "ARCHIVED"
    assert state_free(archived) == state_free(last_active)
    for document in fake_hub.findings.values():
        assert_valid_asff(document)
    # and what was not the audit's own, or not this account's, is left as it was
    assert fake_hub.findings["prowler-1"]["RecordState"] == "ACTIVE"
    assert fake_hub.findings["hsm-backup-audit/elsewhere"]["RecordState"] == "ACTIVE"
    # and each region was read with the five filters, at most 100 a page
    calls = fake_hub.get_findings_calls
    for region in (PRIMARY, SECONDARY):
        wanted = get_findings_filters(product_arn("aws", region, ACCOUNT), ACCOUNT, region)
        assert any(call["Filters"] == wanted for call in calls), region
    assert all(call["MaxResults"] == 100 for call in calls)
    assert sum(1 for call in calls if call.get("NextToken")) >= 1  # the second page


def test_a_refused_get_findings_archives_nothing_there_and_says_so(
    estate: Estate, fake_hub: FakeSecurityHub
) -> None:
    run(estate, fake_hub)
    (pinned_id,) = [k for k, d in fake_hub.findings.items() if estate.pinned in d["Title"]]
    seed(fake_hub, pinned_id)
    fake_hub.denied = True
    outcome = run(estate, fake_hub)
    assert not outcome.reconciled
    assert {(p.region, p.operation, p.code) for p in outcome.problems} == {
        (PRIMARY, "GetFindings", "AccessDeniedException"),
        (SECONDARY, "GetFindings", "AccessDeniedException"),
    }
    assert outcome.archived == 0
    assert all(doc["RecordState"] == "ACTIVE" for doc in fake_hub.findings.values())
    lines = "\n".join(security_hub_lines(outcome))
    assert "SECURITY HUB NOT RECONCILED in 2 account-regions" in lines
    assert "GetFindings: AccessDeniedException" in lines


def test_a_refused_get_findings_archives_nothing_the_baseline_lists_as_resolved(
    estate: Estate, fake_hub: FakeSecurityHub
) -> None:
    # Given a first run in Security Hub, kept as the baseline
    first = run_scan(estate)
    sessions = AccountSessions(boto3.session.Session(), endpoint_url=estate.url)
    import_run(first, Policy(), sessions, endpoint_url=fake_hub.url)
    baseline = json.loads(to_json(first))
    (pinned_id,) = [k for k, d in fake_hub.findings.items() if estate.pinned in d["Title"]]
    last_active = copy.deepcopy(fake_hub.findings[pinned_id])
    # When the pinned backup is fixed (resolved since the baseline), and GetFindings refused
    estate.fleet.backend(PRIMARY).backups[estate.pinned].never_expires = False
    report = run_scan(estate)
    report.changes = compute_changes(report, baseline, Policy())
    assert [document_id(gone.id) for gone in report.changes.resolved] == [pinned_id]
    fake_hub.denied = True
    outcome = import_run(report, Policy(), sessions, endpoint_url=fake_hub.url)
    # Then it fails closed: nothing is archived from a document rebuilt from the baseline,
    # Security Hub still holds the last ACTIVE document, and the output says why
    assert (outcome.archived, outcome.reconciled) == (0, False)
    assert fake_hub.findings[pinned_id] == last_active
    lines = "\n".join(security_hub_lines(outcome))
    assert "0 archived (not archived: could not read Security Hub's findings back)" in lines
    assert "NOT RECONCILED in 2 account-regions: not archived: could not read" in lines
    # And the next run that reads them back archives Security Hub's own copy
    fake_hub.denied = False
    outcome = import_run(report, Policy(), sessions, endpoint_url=fake_hub.url)
    assert (outcome.archived, outcome.reconciled) == (1, True)
    assert state_free(fake_hub.findings[pinned_id]) == state_free(last_active)


def test_no_findings_are_read_back_or_archived_once_the_time_budget_ran_out(
    estate: Estate, fake_hub: FakeSecurityHub
) -> None:
    run(estate, fake_hub)
    fake_hub.get_findings_calls.clear()
    estate.fleet.backend(PRIMARY).backups[estate.pinned].never_expires = False
    report = run_scan(estate)
    sessions = AccountSessions(boto3.session.Session(), endpoint_url=estate.url)
    outcome = import_run(
        report, Policy(), sessions, endpoint_url=fake_hub.url, should_stop=lambda: True
    )
    # Then nothing was asked nor archived, and each account and region says why
    assert fake_hub.get_findings_calls == []
    assert outcome.archived == 0 and not outcome.reconciled
    read = {(p.region, p.code) for p in outcome.problems if p.operation == "GetFindings"}
    assert read == {(PRIMARY, "DeadlineExceeded"), (SECONDARY, "DeadlineExceeded")}
    assert all(doc["RecordState"] == "ACTIVE" for doc in fake_hub.findings.values())

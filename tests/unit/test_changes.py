"""Changes between a run and its baseline document: new, resolved, unchanged, first seen,
and nothing resolved in a scope the run could not see."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.model import Finding, ScanError
from hsm_backup_audit.engine.report import to_document, to_text

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = TUESDAY + timedelta(days=1)
A, B = "111111111111", "222222222222"
EAST, WEST = "us-east-1", "eu-west-1"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "functions/hsm_backup_audit/report.schema.json").read_text()
)


def finding(n: int, *, rule: Rule = Rule.MODE, account: str = A, region: str = EAST) -> Finding:
    return Finding(
        rule=rule,
        severity=RULE_SEVERITY[rule],
        account_id=account,
        region=region,
        cluster_id="cluster-abcdefghijk",
        backup_id=f"backup-{n:011d}",
        shared=False,
        message=f"finding {n}",
        remediation="fix it",
    )


def report(
    findings: list[Finding],
    at: datetime,
    *,
    errors: list[ScanError] | None = None,
    accounts: tuple[str, ...] = (A, B),
    regions: tuple[str, ...] = (EAST, WEST),
) -> Report:
    status = Status.INCOMPLETE if errors else Status.NON_COMPLIANT
    return Report(
        status=status,
        generated_at=at,
        scope=Scope(regions, accounts[0] if accounts else "unknown", accounts, False),
        backups_scanned=100,
        findings=findings,
        errors=errors or [],
        run_id=f"run-{at:%d}",
    )


def document_of(run: Report, baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the run stores: its JSON document, compared with its own baseline."""
    run.changes = compute_changes(run, baseline)
    doc: dict[str, Any] = json.loads(json.dumps(to_document(run)))
    return doc


def test_new_resolved_and_unchanged_by_stable_id_whatever_the_message() -> None:
    # Given a baseline with findings 1, 2, 3 and a run with 2 (reworded), 3 and 4
    baseline = document_of(report([finding(1), finding(2), finding(3)], MONDAY))
    reworded = finding(2)
    reworded.message = "other words this time"
    run = report([reworded, finding(3), finding(4)], TUESDAY)
    # When compared
    changes = compute_changes(run, baseline)
    # Then 4 is new, 1 resolved (with its rule, resource and first seen), 2 and 3 unchanged
    assert changes.new == (finding(4).id,)
    assert [r.id for r in changes.resolved] == [finding(1).id]
    gone = changes.resolved[0]
    assert (gone.rule, gone.severity, gone.account_id, gone.region) == ("mode", "HIGH", A, EAST)
    assert (gone.backup_id, gone.first_seen, gone.message) == (
        "backup-00000000001",
        MONDAY,
        "finding 1",
    )
    assert changes.unchanged == 2
    assert changes.baseline_run_id == "run-23"
    assert changes.baseline_generated_at == MONDAY


def test_first_seen_is_carried_through_a_chain_of_baselines() -> None:
    # Given finding 1 first seen on Monday, finding 2 first on Tuesday
    monday = document_of(report([finding(1)], MONDAY))
    tuesday = document_of(report([finding(1), finding(2)], TUESDAY), monday)
    # When Wednesday's run has both and a third
    changes = compute_changes(report([finding(1), finding(2), finding(3)], WEDNESDAY), tuesday)
    # Then each keeps the time it was first seen
    assert changes.first_seen == {
        finding(1).id: MONDAY,
        finding(2).id: TUESDAY,
        finding(3).id: WEDNESDAY,
    }


def test_no_baseline_or_a_report_without_ids_means_every_finding_is_new() -> None:
    run = report([finding(1), finding(2)], TUESDAY)
    old = document_of(report([finding(1)], MONDAY))
    for entry in old["findings"]:
        del entry["id"]  # a report written before finding ids existed
    for baseline in (None, old, {"schema_version": 2, "findings": []}, {"junk": True}):
        changes = compute_changes(run, baseline)
        assert changes.baseline_generated_at is None
        assert changes.new == (finding(1).id, finding(2).id)
        assert changes.resolved == ()
        assert changes.first_seen == {finding(1).id: TUESDAY, finding(2).id: TUESDAY}


def test_an_incomplete_run_resolves_nothing_in_a_region_it_could_not_read() -> None:
    # Given findings in both regions, and a run where eu-west-1 of account A failed
    baseline = document_of(report([finding(1), finding(2, region=WEST)], MONDAY))
    error = ScanError(A, WEST, "DescribeBackups", "AccessDenied", "denied")
    run = report([], TUESDAY, errors=[error])
    # When compared
    changes = compute_changes(run, baseline)
    # Then only the finding in the region it read is resolved
    assert [r.id for r in changes.resolved] == [finding(1).id]


def test_nothing_resolved_in_accounts_or_regions_not_audited_or_failed_as_a_whole() -> None:
    baseline = document_of(
        report(
            [finding(1), finding(2, account=B), finding(3, region="ap-south-1")],
            MONDAY,
            regions=(EAST, WEST, "ap-south-1"),
        )
    )
    # An AssumeRole failure into B (an account-wide error), and ap-south-1 out of scope
    assume = ScanError(B, "global", "AssumeRole", "AccessDenied", "denied")
    changes = compute_changes(report([], TUESDAY, errors=[assume]), baseline)
    assert [r.id for r in changes.resolved] == [finding(1).id]
    # B simply not audited: the same
    changes = compute_changes(report([], TUESDAY, accounts=(A,)), baseline)
    assert [r.id for r in changes.resolved] == [finding(1).id]


def test_an_error_without_an_account_resolves_nothing_at_all() -> None:
    baseline = document_of(report([finding(1)], MONDAY))
    identity = ScanError("unknown", "global", "GetCallerIdentity", "ExpiredToken", "expired")
    changes = compute_changes(report([], TUESDAY, errors=[identity]), baseline)
    assert changes.resolved == ()


def test_the_json_report_carries_first_seen_and_the_changes_section_and_validates() -> None:
    baseline = document_of(report([finding(1), finding(2)], MONDAY))
    run = report([finding(2), finding(3)], TUESDAY)
    doc = document_of(run, baseline)
    jsonschema.validate(doc, SCHEMA)
    assert doc["run_id"] == "run-24"
    assert [f["first_seen"] for f in doc["findings"]] == [
        "2026-11-23T07:00:00Z",
        "2026-11-24T07:00:00Z",
    ]
    assert doc["changes"]["baseline"] == {
        "run_id": "run-23",
        "generated_at": "2026-11-23T07:00:00Z",
    }
    assert doc["changes"]["new"] == [finding(3).id]
    assert doc["changes"]["unchanged"] == 1
    (gone,) = doc["changes"]["resolved"]
    assert gone["id"] == finding(1).id
    assert gone["backup_id"] == "backup-00000000001"
    assert gone["first_seen"] == "2026-11-23T07:00:00Z"
    # and the first run of all says it had no baseline
    assert document_of(report([], MONDAY))["changes"]["baseline"] is None


def test_the_text_report_lists_what_changed() -> None:
    baseline = document_of(report([finding(1)], MONDAY))
    run = report([finding(2)], TUESDAY)
    run.changes = compute_changes(run, baseline)
    text = to_text(run)
    assert "Changes since 2026-11-23T07:00:00Z: 1 new, 1 resolved, 0 unchanged" in text
    assert "  NEW mode backup-00000000002 us-east-1 111111111111" in text
    assert "  RESOLVED mode backup-00000000001 us-east-1 111111111111" in text


def test_a_forged_id_in_the_baseline_is_never_cleaned_into_a_live_one() -> None:
    # Given a baseline whose finding 1 is also listed again under its id plus a zero-width
    # space (cleaned, it would be the live id: resolved and open in one run)
    run = report([finding(1)], TUESDAY)
    old = document_of(report([finding(1)], MONDAY))
    forged = {**old["findings"][0], "id": finding(1).id + "\u200b", "backup_id": "backup-x"}
    for baseline in (
        {**old, "findings": [*old["findings"], forged]},
        {**old, "findings": [{**old["findings"][0], "id": finding(1).id.upper()}]},
        {**old, "findings": [{**old["findings"][0], "id": finding(1).id + "\n"}]},
        {**old, "schema_version": True},
    ):
        # Then that baseline is unusable: nothing resolved, no id both open and resolved
        changes = compute_changes(run, baseline)
        assert changes.baseline_generated_at is None
        assert changes.resolved == ()

"""The digest answers "what changed" first: subject, verdict lines, NEW, RESOLVED, STILL OPEN,
grouped per cluster and rule, and an all clear that lists what was resolved. No AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.digest import render_digest
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.report import to_document

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)
ACCOUNT = "123456789012"
REGIONS = (*(f"xx-region-{n}" for n in range(28)), "us-east-1", "eu-west-1")


def finding(rule: Rule, n: int, cluster: str, region: str = "eu-west-1") -> Finding:
    return Finding(
        rule=rule,
        severity=RULE_SEVERITY[rule],
        account_id=ACCOUNT,
        region=region,
        cluster_id=cluster,
        backup_id=f"backup-{n:011d}",
        shared=False,
        message=f"{rule} on backup {n}",
        remediation=f"fix backup-{n:011d}",
    )


def report(findings: list[Finding], at: datetime, run_id: str) -> Report:
    findings = sorted(findings, key=Finding.sort_key)
    return Report(
        status=Status.NON_COMPLIANT if findings else Status.COMPLIANT,
        generated_at=at,
        scope=Scope(REGIONS, ACCOUNT, (ACCOUNT,), True, "policy.json"),
        backups_scanned=1000,
        findings=findings,
        errors=[],
        by_region={"us-east-1": 600, "eu-west-1": 400},
        run_id=run_id,
    )


def monday_and_tuesday(monday: list[Finding], tuesday: list[Finding]) -> tuple[Report, Report]:
    first = report(monday, MONDAY, "run-monday")
    first.changes = compute_changes(first, None)
    second = report(tuesday, TUESDAY, "run-tuesday")
    second.changes = compute_changes(second, json.loads(json.dumps(to_document(first))))
    return first, second


def test_subject_and_first_lines_say_what_changed_then_new_resolved_still_open() -> None:
    # Given Monday: a pinned backup and 2 NON_FIPS ones; Tuesday: the pin fixed, one more
    # NON_FIPS backup, and a whole NON_FIPS cluster of 412 backups
    kept = [finding(Rule.MODE, n, "cluster-aaaaaaaaaaa") for n in range(2)]
    pinned = finding(Rule.NEVER_EXPIRES, 99, "cluster-bbbbbbbbbbb", "us-east-1")
    big = [finding(Rule.MODE, n, "cluster-xxxxxxxxxxx") for n in range(1000, 1412)]
    extra = finding(Rule.MODE, 2, "cluster-aaaaaaaaaaa")
    _, tuesday = monday_and_tuesday([*kept, pinned], [*kept, extra, *big])
    # When rendered
    digest = render_digest(tuesday, run_id="run-tuesday", report_url="s3://b/r.json")
    body = digest.body
    lines = body.splitlines()
    # Then the subject and the first lines answer "what changed"
    assert digest.subject == (
        "[NON_COMPLIANT] 413 new, 1 resolved since 2026-11-23 - CloudHSM backups 123456789012: "
        "415 findings"
    )
    assert len(digest.subject) < 100
    assert lines[:3] == [
        "CloudHSM backup audit: NON_COMPLIANT",
        "Since 2026-11-23T07:00:00Z: 413 new (413 HIGH), 1 resolved (1 HIGH); 2 unchanged.",
        "Open: 415 findings (415 HIGH); 415 of 1,000 backups non-compliant; 0 scan errors.",
    ]
    assert "Baseline:  run-monday (2026-11-23T07:00:00Z)" in lines
    # NEW first (one block for the rule, a line per cluster with a few ids), then RESOLVED
    # (with why), then STILL OPEN
    assert body.index("NEW (413)") < body.index("RESOLVED (1)") < body.index("STILL OPEN (2)")
    block = lines.index("  NEW [HIGH] mode: 413 backups in 2 clusters")
    assert lines[block + 1 : block + 4] == [
        "    cluster cluster-aaaaaaaaaaa  eu-west-1  123456789012: 1 backup (backup-00000000002)",
        "    cluster cluster-xxxxxxxxxxx  eu-west-1  123456789012: 412 backups "
        "(backup-00000001000, backup-00000001001, ...)",
        "    mode on backup 2-1411",  # what differs is a range
    ]
    assert lines[block + 4] == "    fix: hsm-backup-audit fix s3://b/r.json --rule mode"
    assert block < 20  # the first screen
    assert (
        "  RESOLVED [HIGH] never-expires  backup-00000000099  cluster cluster-bbbbbbbbbbb  "
        "us-east-1  123456789012  (fixed; first seen 2026-11-23)" in lines
    )
    assert body.count("backup-00000001411") == 0  # grouped, not listed
    assert digest.findings_shown == 415
    # rows of zeros are left out: 28 empty regions are one line
    assert "  (28 regions with no backups not shown)" in lines
    assert not any(line.startswith("  xx-region-") for line in lines)
    assert digest.attributes["new_findings"]["StringValue"] == "413"
    assert digest.attributes["resolved_findings"]["StringValue"] == "1"


def test_many_resolved_in_one_cluster_are_one_line() -> None:
    fixed = [finding(Rule.MODE, n, "cluster-xxxxxxxxxxx") for n in range(50)]
    _, tuesday = monday_and_tuesday(fixed, [])
    body = render_digest(tuesday, run_id="r").body
    lines = body.splitlines()
    block = lines.index("  RESOLVED [HIGH] mode: 50 backups (fixed 50)")
    assert (
        lines[block + 1] == "    cluster cluster-xxxxxxxxxxx  eu-west-1  123456789012: 50 backups"
    )


def test_when_the_fleet_becomes_compliant_the_all_clear_lists_what_was_resolved() -> None:
    pinned = finding(Rule.NEVER_EXPIRES, 99, "cluster-bbbbbbbbbbb", "us-east-1")
    _, tuesday = monday_and_tuesday([pinned], [])
    digest = render_digest(tuesday, run_id="r")
    assert digest.subject == (
        # the date is left out whole (it does not fit), never cut
        "[COMPLIANT] all clear: 0 new, 1 resolved - CloudHSM backups 123456789012: 0 findings"
    )
    lines = digest.body.splitlines()
    assert lines[:5] == [
        "CloudHSM backup audit: COMPLIANT",
        "Since 2026-11-23T07:00:00Z: 0 new (none), 1 resolved (1 HIGH); 0 unchanged.",
        "Open: 0 findings (none); 0 of 1,000 backups non-compliant; 0 scan errors.",
        "All clear: 1 finding above INFO resolved.",
        "No findings: every backup meets the policy.",
    ]
    assert any(
        line.startswith("  RESOLVED [HIGH] never-expires  backup-00000000099") for line in lines
    )


def test_a_history_that_could_not_be_read_is_named() -> None:
    today = report([], TUESDAY, "r")
    today.changes = compute_changes(today, None)
    body = render_digest(
        today, run_id="r", baseline_problem="read s3://b/history/x: AccessDenied"
    ).body
    assert "Baseline:  COULD NOT BE READ: read s3://b/history/x: AccessDenied" in body
    assert "First run for this scope: no earlier complete report to compare with." in body


def test_a_policy_that_stops_a_listing_is_no_all_clear() -> None:
    # Given Monday's shared-backup finding, and Tuesday's policy no longer reading shared ones
    shared = finding(Rule.NEVER_EXPIRES, 1, "cluster-shared000")
    shared.shared = True
    first = report([shared], MONDAY, "run-monday")
    first.changes = compute_changes(first, None)
    second = report([], TUESDAY, "run-tuesday")
    second.scope = Scope(REGIONS, ACCOUNT, (ACCOUNT,), False, "policy.json")
    second.changes = compute_changes(second, json.loads(json.dumps(to_document(first))))
    # When the digest is rendered
    digest = render_digest(second, run_id="run-tuesday", report_url="s3://b/k.json")
    # Then nothing is "resolved" nor "all clear": the finding is no longer audited
    assert "all clear" not in digest.subject
    assert "0 new, 0 resolved since" in digest.subject
    assert "All clear" not in digest.body
    assert "NO LONGER AUDITED (1)" in digest.body
    assert "RESOLVED (" not in digest.body
    assert digest.attributes["resolved_findings"]["StringValue"] == "0"

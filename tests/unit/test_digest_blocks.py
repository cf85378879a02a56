"""What each entry of the digest claims is true of every member: dates as a range, a copy's
cluster in its source region, no fix that names a deleted cluster, why each resolved finding
went, INFO apart from the news, and the first screen. Reports built by the audit fold from
DescribeBackups-shaped items, no AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.changes import ResolvedFinding, compute_changes
from hsm_backup_audit.engine.digest import render_digest
from hsm_backup_audit.engine.merge import merge, read_partial
from hsm_backup_audit.engine.partial import PartialAudit, partial_document, requested_accounts
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
EAST, WEST = "us-east-1", "eu-west-1"
URL = "s3://reports-bucket/reports/123456789012/2026/12/06/run.json"


def cluster(cid: str, region: str, hsm_type: str = "hsm2m.medium") -> dict[str, Any]:
    return {
        "ClusterId": cid,
        "State": "ACTIVE",
        "CreateTimestamp": NOW - timedelta(days=400),
        "BackupRetentionPolicy": {"Type": "DAYS", "Value": "90"},
        "HsmType": hsm_type,
        "Mode": "FIPS",
    }


def backup(bid: str, cid: str, age_days: float = 2, **fields: Any) -> dict[str, Any]:
    return {
        "BackupId": bid,
        "ClusterId": cid,
        "BackupState": "READY",
        "CreateTimestamp": NOW - timedelta(days=age_days),
        "NeverExpires": False,
        "Mode": "FIPS",
        "HsmType": "hsm2m.medium",
    } | fields


def run(
    clusters: dict[str, list[dict[str, Any]]],
    backups: dict[str, list[dict[str, Any]]],
    at: datetime = NOW,
) -> Report:
    audit = Audit(Policy(), at)
    for region in (EAST, WEST):
        audit.add_clusters(ACCOUNT, region, clusters.get(region, []))
    for region in (EAST, WEST):
        audit.add_backups(ACCOUNT, region, False, backups.get(region, []))
    return audit.finish(Scope((EAST, WEST), ACCOUNT, (ACCOUNT,), False))


def fresh(cid: str, region: str) -> list[dict[str, Any]]:
    """A backup an hour old: the cluster is not stale."""
    return [backup(f"backup-fresh{cid[-5:]}", cid, age_days=1.04)]


def test_a_group_states_only_what_every_member_shares() -> None:
    # Given 8 pending deletions in one cluster: one goes on 12-07, seven on 12-10
    gone = [
        backup(
            f"backup-pend{n:07d}",
            "cluster-aaaaaaaaaaa",
            state="PENDING_DELETION",
            BackupState="PENDING_DELETION",
            DeleteTimestamp=NOW + timedelta(days=1 if n == 0 else 4),
        )
        for n in range(8)
    ]
    report = run(
        {EAST: [cluster("cluster-aaaaaaaaaaa", EAST)]},
        {EAST: [*fresh("cluster-aaaaaaaaaaa", EAST), *gone]},
    )
    lines = render_digest(report, run_id="r", report_url=URL).body.splitlines()
    # Then the block gives the range of dates, never one date for all
    assert "  - pending-deletion: 8 backups in 1 cluster" in lines
    assert (
        "    Pending deletion; permanently deleted 2026-12-07 06:00 to 2026-12-10 06:00 UTC."
        in lines
    )
    assert not any("permanently deleted 2026-12-07 06:00 UTC" in line for line in lines)


def test_a_copy_is_in_its_own_region_and_its_cluster_in_the_sources() -> None:
    # Given a copy in eu-west-1 of a us-east-1 cluster's backup, on hsm1
    pki = "cluster-pkipkipkipk"
    copy = backup(
        "backup-copycopycop",
        pki,
        HsmType="hsm1.medium",
        SourceRegion=EAST,
        SourceCluster=pki,
        SourceBackup="backup-sourcesource",
        CopyTimestamp=NOW - timedelta(days=1),
    )
    report = run({EAST: [cluster(pki, EAST)]}, {EAST: fresh(pki, EAST), WEST: [copy]})
    body = render_digest(report, run_id="r").body
    # Then the cluster is named in us-east-1, the copy in eu-west-1, and the fix for the
    # cluster names the cluster's region
    assert (
        f"  - hsm-type  backup-copycopycop  cluster {pki}  {EAST}  {ACCOUNT}  copy in {WEST}"
        in body.splitlines()
    )
    assert f"modify-cluster --cluster-id {pki} --hsm-type hsm2m.medium --region {EAST}" in body
    assert f"cluster {pki}  {WEST}" not in body


def test_no_fix_names_a_cluster_that_is_gone() -> None:
    # Given hsm1 backups whose cluster is no longer listed (deleted), and one whose cluster is
    old = [
        backup(f"backup-oldold{n:05d}", "cluster-gonegonegon", HsmType="hsm1.medium")
        for n in range(5)
    ]
    live = [backup("backup-liveliveliv", "cluster-livelivel", HsmType="hsm1.medium")]
    report = run(
        {WEST: [cluster("cluster-livelivel", WEST, "hsm1.medium")]},
        {WEST: [*old, *live, *fresh("cluster-livelivel", WEST)]},
    )
    body = render_digest(report, run_id="r", report_url=URL).body
    lines = body.splitlines()
    # Then the deleted cluster is marked so, and no command names it
    assert f"    cluster cluster-gonegonegon  {WEST}  {ACCOUNT}  (cluster deleted): 5 backups" in (
        "\n".join(lines)
    )
    commands = [line for line in lines if "aws " in line or "hsm-backup-audit fix" in line]
    assert commands and not any("cluster-gonegonegon" in line for line in commands)
    deleted = [f for f in report.findings if f.cluster_id == "cluster-gonegonegon"]
    assert all("delete-backup" in f.remediation for f in deleted)
    # while the cluster that exists is still the one to migrate
    (alive,) = [f for f in report.findings if f.backup_id == "backup-liveliveliv"]
    assert "modify-cluster --cluster-id cluster-livelivel" in alive.remediation


def test_a_failed_cluster_listing_marks_no_cluster_deleted() -> None:
    # Given the same backups, but the cluster listing of that region failed
    audit = Audit(Policy(), NOW)
    audit.clusters_unavailable(ACCOUNT, WEST)
    audit.add_backups(
        ACCOUNT,
        WEST,
        False,
        [backup("backup-oldold00000", "cluster-gonegonegon", HsmType="hsm1.medium")],
    )
    report = audit.finish(Scope((WEST,), ACCOUNT, (ACCOUNT,), False))
    # Then nothing says the cluster is gone
    assert not any(f.cluster_deleted for f in report.findings)


def _two_days(before: Report, after: Report) -> Report:
    before.changes = compute_changes(before, None)
    after.changes = compute_changes(after, json.loads(json.dumps(to_document(before))))
    return after


def test_resolved_findings_say_why_and_info_is_apart_from_the_news() -> None:
    # Given yesterday: 5 pinned backups; today: all unpinned, but 2 of them pending deletion
    pki = "cluster-pkipkipkipk"
    pinned = [backup(f"backup-pin{n:09d}", pki, NeverExpires=True) for n in range(5)]
    yesterday = run(
        {EAST: [cluster(pki, EAST)]}, {EAST: [*fresh(pki, EAST), *pinned]}, NOW - timedelta(days=1)
    )
    today_backups = [
        b
        | {"NeverExpires": False}
        | (
            {"BackupState": "PENDING_DELETION", "DeleteTimestamp": NOW + timedelta(days=7)}
            if n < 2
            else {}
        )
        for n, b in enumerate(pinned)
    ]
    today = _two_days(
        yesterday, run({EAST: [cluster(pki, EAST)]}, {EAST: [*fresh(pki, EAST), *today_backups]})
    )
    assert today.changes is not None
    # and one of the resolved is said (by the changes) to be gone with its backup
    changes = today.changes
    first, *rest = changes.resolved
    today.changes = type(changes)(
        changes.baseline_run_id,
        changes.baseline_generated_at,
        changes.new,
        (ResolvedFinding(**{**first.__dict__, "reason": "backup deleted"}), *rest),
        changes.unchanged,
        changes.first_seen,
        not_checked=(ResolvedFinding(**{**first.__dict__, "id": "v1-x", "region": WEST}),),
    )
    digest = render_digest(today, run_id="r", report_url=URL)
    lines = digest.body.splitlines()
    # Then the news leaves INFO out of new and resolved, and shows it apart
    assert digest.subject.startswith("[COMPLIANT] all clear: 0 new, 5 resolved")
    assert "(+2 INFO)" in digest.subject
    assert lines[1].endswith(": 0 new (none), 5 resolved (5 HIGH); 0 unchanged.")
    assert lines[2] == "INFO apart: 2 new, 0 resolved (not counted as news above)."
    # never "No findings" above INFO findings
    assert "Nothing above INFO: every backup meets the policy (2 INFO findings below)." in lines
    assert "No findings: every backup meets the policy." not in lines
    # and each resolved finding says why
    assert "  RESOLVED [HIGH] never-expires: 5 backups (backup deleted 1, fixed 4)" in lines
    assert any(line.startswith("NOT CHECKED THIS RUN (1)") for line in lines)
    assert f"  NOT CHECKED [HIGH] never-expires  backup-pin000000000  cluster {pki}  {WEST}" in (
        digest.body
    )
    # and the per-rule table has new and resolved columns
    table = lines.index("Findings per rule")
    assert lines[table + 1 : table + 4] == [
        "  rule                     severity     open      new  resolved",
        "  never-expires                HIGH        0        0         5",
        "  pending-deletion             INFO        2        2         0",
    ]
    # and the run's metadata is in the footer
    assert lines.index("--") > table
    assert lines[-2] == f"Report:    {URL}"


def test_the_first_screen_has_the_status_the_changes_and_the_first_entry() -> None:
    # Given many kinds of new findings and a scan error
    clusters = [f"cluster-{n:011d}" for n in range(10)]
    backups = [
        backup(
            f"backup-{c[-4:]}{n:06d}",
            c,
            NeverExpires=True,
            Mode="NON_FIPS",
            HsmType="hsm1.medium",
            age_days=200,
        )
        for c in clusters
        for n in range(4)
    ]
    before = run(
        {EAST: [cluster(c, EAST) for c in clusters]},
        {EAST: [b for c in clusters for b in fresh(c, EAST)]},
        NOW - timedelta(days=1),
    )
    after = _two_days(
        before,
        run(
            {EAST: [cluster(c, EAST) for c in clusters]},
            {EAST: [*backups, *(b for c in clusters for b in fresh(c, EAST))]},
        ),
    )
    lines = render_digest(after, run_id="r", report_url=URL).body.splitlines()
    first_screen = lines[:20]
    assert first_screen[0] == "CloudHSM backup audit: NON_COMPLIANT"
    assert first_screen[1].startswith("Since 2026-12-05T06:00:00Z: 120 new (80 HIGH, 40 MEDIUM)")
    assert any(
        line.startswith("  NEW [HIGH] never-expires: 40 backups in 10 clusters")
        for line in first_screen
    )
    assert not any(line.startswith(("Run id:", "Report:", "Baseline:")) for line in first_screen)


def test_a_copys_source_region_and_a_deleted_cluster_survive_the_report_and_a_merge() -> None:
    # Given a batch (fan-out) that saw a copy and backups of a deleted cluster
    pki = "cluster-pkipkipkipk"
    copy = backup(
        "backup-copycopycop",
        pki,
        HsmType="hsm1.medium",
        SourceRegion=EAST,
        SourceCluster=pki,
        SourceBackup="backup-sourcesource",
    )
    orphan = backup("backup-orphanorpha", "cluster-gonegonegon", HsmType="hsm1.medium")
    audit = PartialAudit(Policy(), NOW)
    audit.add_clusters(ACCOUNT, EAST, [cluster(pki, EAST)])
    audit.add_clusters(ACCOUNT, WEST, [])
    audit.add_backups(ACCOUNT, EAST, False, fresh(pki, EAST))
    audit.add_backups(ACCOUNT, WEST, False, [copy, orphan])
    report = audit.finish(Scope((EAST, WEST), ACCOUNT, (ACCOUNT,), False))
    document = json.loads(
        json.dumps(partial_document(report, audit.partial_info(report, requested_accounts(report))))
    )
    # When the JSON report is checked and the partial merged back
    schema = json.loads(
        (Path(__file__).parents[2] / "functions/hsm_backup_audit/report.schema.json").read_text()
    )
    jsonschema.validate(to_document(report), schema)
    merged = merge([read_partial(document, "part.json")]).report
    # Then the copy still names its source region and the orphan its deleted cluster
    by_backup = {f.backup_id: f for f in merged.findings}
    assert by_backup["backup-copycopycop"].source_region == EAST
    assert by_backup["backup-orphanorpha"].cluster_deleted
    body = render_digest(merged, run_id="r").body
    assert f"cluster {pki}  {EAST}  {ACCOUNT}  copy in {WEST}" in body
    assert f"cluster cluster-gonegonegon  {WEST}  {ACCOUNT}  (cluster deleted)" in body


def test_a_cluster_resolved_as_deleted_is_named_by_no_fix() -> None:
    # Given yesterday: a cluster with a too-short retention and hsm1 backups; today the
    # changes say its retention finding went with the cluster ("cluster deleted")
    gone = "cluster-gonegonegon"
    short = cluster(gone, WEST, "hsm1.medium") | {
        "BackupRetentionPolicy": {"Type": "DAYS", "Value": "7"}
    }
    old = [backup(f"backup-old{n:09d}", gone, HsmType="hsm1.medium") for n in range(2)]
    yesterday = run({WEST: [short]}, {WEST: old}, NOW - timedelta(days=1))
    # (today the cluster listing failed to say so: only the resolved reason tells)
    audit = Audit(Policy(), NOW)
    audit.clusters_unavailable(ACCOUNT, WEST)
    audit.add_backups(ACCOUNT, WEST, False, old)
    today = _two_days(yesterday, audit.finish(Scope((WEST,), ACCOUNT, (ACCOUNT,), False)))
    assert today.changes is not None
    changes = today.changes
    retention = next(r for r in changes.resolved if r.rule == "retention-policy")
    today.changes = type(changes)(
        changes.baseline_run_id,
        changes.baseline_generated_at,
        changes.new,
        (ResolvedFinding(**{**retention.__dict__, "reason": "cluster deleted"}),),
        changes.unchanged,
        changes.first_seen,
    )
    lines = render_digest(today, run_id="r", report_url=URL).body.splitlines()
    # Then the resolved entry says why, and no command names the cluster
    assert any("(cluster deleted; first seen" in line for line in lines)
    commands = [line for line in lines if "aws " in line or "hsm-backup-audit fix" in line]
    assert len(commands) == 2 and not any(gone in line for line in commands)
    # and the report itself is not changed by rendering it
    assert all("modify-cluster" in f.remediation for f in today.findings)

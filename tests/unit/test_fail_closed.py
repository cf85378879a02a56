"""Verdicts that must not fail open (issue 9), on plain dicts as the API sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.constants import Rule, Status
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.policy import Exemption, Policy
from hsm_backup_audit.engine.report import to_document, to_text

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER = "cluster-aaaaaaaaaaa"
SCOPE = Scope(regions=(REGION,), account_id=ACCOUNT, accounts=(ACCOUNT,), include_shared=True)


def cluster(
    cluster_id: str | None = CLUSTER, retention: str = "90", **extra: Any
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "State": "ACTIVE",
        "CreateTimestamp": NOW - timedelta(days=500),
        "BackupRetentionPolicy": {"Type": "DAYS", "Value": retention},
    }
    if cluster_id is not None:
        raw["ClusterId"] = cluster_id
    return raw | extra


def backup(
    backup_id: str, age_days: float = 0.5, cluster_id: str = CLUSTER, account: str = ACCOUNT
) -> dict[str, Any]:
    return {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{REGION}:{account}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": cluster_id,
        "CreateTimestamp": NOW - timedelta(days=age_days),
        "NeverExpires": False,
        "HsmType": "hsm2m.medium",
        "Mode": "FIPS",
    }


def audit_of(backups: list[dict[str, Any]], clusters: list[dict[str, Any]] | None = None) -> Report:
    audit = Audit(Policy(), NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()] if clusters is None else clusters)
    audit.add_backups(ACCOUNT, REGION, False, backups)
    return audit.finish(SCOPE)


def rules_for(report: Report, backup_id: str | None) -> list[Rule]:
    return sorted(f.rule for f in report.findings if f.backup_id == backup_id)


# --- orphan backups ---------------------------------------------------------------------
def test_an_orphan_backup_is_overdue_even_as_the_newest_of_its_cluster_id() -> None:
    # Given a READY backup 3,000 days old whose cluster is not listed (deleted long ago)
    orphan = backup("backup-orphan00001", age_days=3000, cluster_id="cluster-deletedlong")
    # When audited next to a healthy listed cluster
    report = audit_of([orphan, backup("backup-healthy0001")])
    # Then the service keeps nothing for a cluster that is gone: it is overdue
    assert rules_for(report, "backup-orphan00001") == [Rule.OVERDUE]
    assert report.status is Status.NON_COMPLIANT


def test_the_newest_backup_of_a_deleted_listed_cluster_is_overdue() -> None:
    only = backup("backup-lastofgone1", age_days=3000)
    report = audit_of([only], clusters=[cluster(State="DELETED")])
    assert rules_for(report, "backup-lastofgone1") == [Rule.OVERDUE]


def test_the_newest_backup_of_a_listed_cluster_is_still_kept() -> None:
    only = backup("backup-onlyone0001", age_days=3000)
    report = audit_of([only])
    assert rules_for(report, "backup-onlyone0001") == []
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


def test_backups_without_a_cluster_id_are_never_grouped_with_clusters_without_one() -> None:
    # Given two listed clusters that report no ClusterId, and an old backup without one
    lost = backup("backup-noclusterid", age_days=3000)
    del lost["ClusterId"]
    report = audit_of([lost], clusters=[cluster(None, retention="7"), cluster(None, "8")])
    # Then the backup is no cluster's newest (overdue), and each cluster has its findings
    assert rules_for(report, "backup-noclusterid") == [Rule.OVERDUE]
    retention = [f for f in report.findings if f.rule is Rule.RETENTION_POLICY]
    assert sorted(f.message.split(";")[0] for f in retention) == [
        "Backup retention is 7 days",
        "Backup retention is 8 days",
    ]


def test_where_clusters_could_not_be_listed_overdue_is_judged_against_the_api_maximum() -> None:
    # Given a region whose DescribeClusters failed, with a very old backup, a 300-day one
    # and the newest of their cluster id (the cluster may exist, so the service may keep it)
    audit = Audit(Policy(max_retention_days=180), NOW)
    audit.clusters_unavailable(ACCOUNT, REGION)
    audit.add_error(ScanError(ACCOUNT, REGION, "DescribeClusters", "AccessDenied", "no"))
    ancient, older, newest = (
        backup("backup-ancient0001", age_days=3000),
        backup("backup-older000001", age_days=300),
        backup("backup-newest00001", age_days=2000),
    )
    newest["CreateTimestamp"] = NOW - timedelta(days=1)
    audit.add_backups(ACCOUNT, REGION, False, [ancient, older, newest])
    report = audit.finish(SCOPE)
    # Then only what no cluster could keep is overdue, and the run is INCOMPLETE
    assert rules_for(report, "backup-ancient0001") == [Rule.OVERDUE]
    assert "no retention the API allows keeps a backup past 381 days" in report.findings[0].message
    assert rules_for(report, "backup-older000001") == []
    assert rules_for(report, "backup-newest00001") == []
    assert report.status is Status.INCOMPLETE


# --- raw values -----------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["DELETED\u200b", "DELETED ", "\u202eDELETED"])
def test_a_state_that_only_looks_deleted_is_judged_by_every_rule(state: str) -> None:
    # Given an undocumented state that cleans up to DELETED, NeverExpires and no Mode
    raw = backup("backup-lookalike01", age_days=1)
    raw |= {"BackupState": state, "NeverExpires": True}
    del raw["Mode"]
    report = audit_of([raw, backup("backup-healthy0001")])
    # Then it is not taken as DELETED: every rule judges it
    assert rules_for(report, "backup-lookalike01") == sorted(
        [Rule.UNKNOWN_STATE, Rule.NEVER_EXPIRES, Rule.MODE]
    )
    # And the message shows the value as sent, hidden characters escaped
    unknown = next(f for f in report.findings if f.rule is Rule.UNKNOWN_STATE)
    assert unknown.message.startswith('BackupState "')
    assert unknown.message.isprintable()


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("BackupState", "READY ", Rule.UNKNOWN_STATE),
        ("BackupState", "PENDING_DELETION\n", Rule.UNKNOWN_STATE),
        ("Mode", "FIPS\u200b", Rule.MODE),
        ("Mode", " FIPS", Rule.MODE),
        ("HsmType", "hsm2m.medium\n", Rule.HSM_TYPE),
        ("HsmType", "hsm2m.medium\u00ad", Rule.HSM_TYPE),
    ],
)
def test_values_are_compared_as_sent_not_as_cleaned(field: str, value: str, rule: Rule) -> None:
    raw = backup("backup-almostgood1") | {field: value}
    report = audit_of([raw, backup("backup-healthy0001")])
    assert rule in rules_for(report, "backup-almostgood1")
    assert report.status is Status.NON_COMPLIANT
    assert to_text(report).count("\n[") == len(report.by_rule)  # one line each, no forgery


def test_a_pending_deletion_lookalike_is_overdue_when_old() -> None:
    raw = backup("backup-pendinglike", age_days=3000) | {"BackupState": "PENDING_DELETION\u200b"}
    report = audit_of([raw, backup("backup-healthy0001")])
    assert rules_for(report, "backup-pendinglike") == [Rule.OVERDUE, Rule.UNKNOWN_STATE]


@pytest.mark.parametrize("value", ["90 ", "\u0669\u0660", "90\u200b", "+90", 90])
def test_a_retention_not_in_the_documented_form_is_not_read(value: Any) -> None:
    report = audit_of([backup("backup-healthy0001")], clusters=[cluster(retention=value)])
    assert rules_for(report, None) == [Rule.RETENTION_POLICY]


def test_a_cluster_state_that_only_looks_deleted_still_owes_fresh_backups() -> None:
    report = audit_of([], clusters=[cluster(State="DELETED\u200b")])
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


# --- identity -------------------------------------------------------------------------------
def test_arns_differing_only_by_a_zero_width_character_are_two_backups() -> None:
    # Given a compliant backup, then one whose id and ARN differ only by U+200B
    good = backup("backup-twinsample1")
    twin = backup("backup-twinsample1\u200b") | {"NeverExpires": True}
    report = audit_of([good, twin])
    # Then both are counted and the twin's finding stands, with its own finding id
    assert report.backups_scanned == 2
    assert [f.rule for f in report.findings] == [Rule.NEVER_EXPIRES]
    assert report.backups_noncompliant == 1
    good_pinned = backup("backup-twinsample1") | {"NeverExpires": True}
    both = audit_of([good_pinned, twin])
    assert len({f.id for f in both.findings}) == 2
    assert both.backups_noncompliant == 2


def test_arns_differing_only_after_character_128_are_two_backups() -> None:
    prefix = "backup-" + "x" * 140
    first = backup(prefix + "a")
    second = backup(prefix + "b") | {"Mode": "NON_FIPS"}
    report = audit_of([first, second])
    assert report.backups_scanned == 2
    assert [f.rule for f in report.findings] == [Rule.MODE]
    assert first["BackupId"][:125] == (report.findings[0].backup_id or "")[:125]  # displayed alike


def test_without_an_arn_the_raw_id_and_region_identify_a_backup() -> None:
    plain = backup("backup-noarn000001") | {"NeverExpires": True}
    del plain["BackupArn"]
    lookalike = dict(plain, BackupId="backup-noarn000001\u200b")
    audit = Audit(Policy(), NOW)
    audit.add_backups(ACCOUNT, REGION, False, [plain, plain, lookalike])
    audit.add_backups(ACCOUNT, "eu-west-1", False, [plain])
    report = audit.finish(SCOPE)
    assert report.backups_scanned == 3
    assert report.backups_noncompliant == 3


# --- copies ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SourceBackup", "backup-source00001"),
        ("SourceRegion", "eu-west-1"),
        ("SourceCluster", "cluster-fromelsewhe"),
        ("CopyTimestamp", NOW - timedelta(days=100)),
    ],
)
def test_any_copy_field_marks_a_copy(field: str, value: Any) -> None:
    # Given 379 days' retention, and a 100-day-old backup with one copy field only
    copy = backup("backup-acopy00001", age_days=100) | {field: value}
    report = audit_of([copy, backup("backup-healthy0001")], clusters=[cluster(retention="379")])
    # Then it is judged as a copy (at most 90 days old), not by the cluster's retention
    assert rules_for(report, "backup-acopy00001") == [Rule.OVERDUE]
    assert "cross-region copy" in report.findings[0].message


def test_a_copy_alone_does_not_keep_a_cluster_fresh() -> None:
    copy = backup("backup-freshcopy01") | {"CopyTimestamp": NOW}
    report = audit_of([copy, backup("backup-old00000001", age_days=3)])
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


# --- backups without any id -----------------------------------------------------------------
def test_backups_with_neither_id_nor_arn_each_count_as_non_compliant() -> None:
    # Given three backups with no BackupId and no BackupArn, each NeverExpires
    nameless = []
    for age in (1, 2, 3):
        raw = backup("unused", age_days=age) | {"NeverExpires": True}
        del raw["BackupId"], raw["BackupArn"]
        nameless.append(raw)
    report = audit_of([*nameless, nameless[0]])
    # Then each is scanned and counted as a non-compliant backup, one by one
    assert report.backups_scanned == 4
    assert report.backups_noncompliant == 4
    assert to_document(report)["summary"]["backups_noncompliant"] == 4
    # And the three that differ keep three finding ids
    assert len({f.id for f in report.findings if f.rule is Rule.NEVER_EXPIRES}) == 3


def test_an_exemption_does_not_cover_a_lookalike_of_the_backup_it_names() -> None:
    # Given an exemption for one backup, and another whose id only displays the same
    policy = Policy(
        exemptions=(
            Exemption(
                backup_id="backup-exempted001",
                rules=(Rule.NEVER_EXPIRES,),
                reason="legal hold",
                expires=NOW.date() + timedelta(days=30),
            ),
        )
    )
    exempted = backup("backup-exempted001") | {"NeverExpires": True}
    lookalike = backup("backup-exempted001\u200b") | {"NeverExpires": True}
    audit = Audit(policy, NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()])
    audit.add_backups(ACCOUNT, REGION, False, [exempted, lookalike])
    report = audit.finish(SCOPE)
    # Then only the named backup is exempt
    assert [(f.rule, f.backup_id) for f in report.findings] == [
        (Rule.NEVER_EXPIRES, "backup-exempted001")
    ]
    assert report.findings[0].backup_ref == "backup-exempted001\u200b"

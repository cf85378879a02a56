"""Every rule both ways and every state, on plain data: no AWS, no moto."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.constants import Rule, Severity, Status
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.policy import Exemption, Policy

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
ACCOUNT, REGION = "123456789012", "us-east-1"
CLUSTER = "cluster-aaaaaaaaaaa"
SCOPE = Scope(regions=(REGION,), account_id=ACCOUNT, accounts=(ACCOUNT,), include_shared=True)


def cluster(
    cluster_id: str = CLUSTER, retention: str | None = "90", **extra: Any
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "ClusterId": cluster_id,
        "State": "ACTIVE",
        "CreateTimestamp": NOW - timedelta(days=500),
    }
    if retention is not None:
        raw["BackupRetentionPolicy"] = {"Type": "DAYS", "Value": retention}
    return raw | extra


_counter = iter(range(10**6))


def backup(age_days: float = 0.5, cluster_id: str = CLUSTER, **extra: Any) -> dict[str, Any]:
    backup_id = extra.pop("BackupId", f"backup-{next(_counter):011d}")
    raw: dict[str, Any] = {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{REGION}:{ACCOUNT}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": cluster_id,
        "CreateTimestamp": NOW - timedelta(days=age_days),
        "NeverExpires": False,
        "HsmType": "hsm2m.medium",
        "Mode": "FIPS",
    }
    return raw | extra


def audit_of(
    backups: list[dict[str, Any]],
    clusters: list[dict[str, Any]] | None = None,
    policy: Policy | None = None,
    shared: list[dict[str, Any]] | None = None,
) -> Report:
    audit = Audit(policy or Policy(), NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()] if clusters is None else clusters)
    audit.add_backups(ACCOUNT, REGION, False, backups)
    audit.add_backups(ACCOUNT, REGION, True, shared or [])
    return audit.finish(SCOPE)


def rules_for(report: Report, backup_id: str | None) -> list[Rule]:
    return sorted(f.rule for f in report.findings if f.backup_id == backup_id)


def test_a_healthy_cluster_is_compliant() -> None:
    # Given a cluster with 90 days' retention and a fresh, well-formed backup
    report = audit_of([backup(age_days=n + 0.1) for n in range(30)])
    # Then nothing fires
    assert report.findings == []
    assert report.status is Status.COMPLIANT
    assert report.backups_scanned == 30


# --- never-expires ---------------------------------------------------------------
@pytest.mark.parametrize(("value", "fires"), [(True, True), (False, False), (None, True)])
def test_never_expires(value: bool | None, fires: bool) -> None:
    raw = backup(NeverExpires=value) if value is not None else backup()
    if value is None:
        del raw["NeverExpires"]
    report = audit_of([raw])
    assert (Rule.NEVER_EXPIRES in rules_for(report, raw["BackupId"])) is fires
    assert report.status is (Status.NON_COMPLIANT if fires else Status.COMPLIANT)


def test_never_expires_allowed_by_policy() -> None:
    raw = backup(NeverExpires=True)
    assert audit_of([raw], policy=Policy(allow_never_expires=True)).findings == []


# --- mode -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "fires"), [("FIPS", False), ("NON_FIPS", True), ("DEFAULT", True), (None, True)]
)
def test_mode(mode: str | None, fires: bool) -> None:
    raw = backup(Mode=mode)
    if mode is None:
        del raw["Mode"]
    report = audit_of([raw])
    assert (Rule.MODE in rules_for(report, raw["BackupId"])) is fires


def test_mode_non_fips_allowed_by_policy() -> None:
    raw = backup(Mode="NON_FIPS")
    assert audit_of([raw], policy=Policy(allowed_modes=("FIPS", "NON_FIPS"))).findings == []


# --- hsm-type -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hsm_type", "fires"), [("hsm2m.medium", False), ("hsm1.medium", True), (None, True)]
)
def test_hsm_type(hsm_type: str | None, fires: bool) -> None:
    raw = backup(HsmType=hsm_type)
    if hsm_type is None:
        del raw["HsmType"]
    report = audit_of([raw])
    assert (Rule.HSM_TYPE in rules_for(report, raw["BackupId"])) is fires
    if fires:
        assert report.findings[0].severity is Severity.MEDIUM


# --- states -------------------------------------------------------------------------
def test_pending_deletion_gets_that_finding_and_no_other() -> None:
    # Given a backup pending deletion that would break every other rule
    raw = backup(
        age_days=400,
        BackupState="PENDING_DELETION",
        NeverExpires=True,
        Mode="NON_FIPS",
        HsmType="hsm1.medium",
        DeleteTimestamp=NOW + timedelta(days=6),
    )
    report = audit_of([raw, backup()])
    # Then it gets only the INFO finding, which alone does not make the run non-compliant
    assert rules_for(report, raw["BackupId"]) == [Rule.PENDING_DELETION]
    assert report.findings[0].severity is Severity.INFO
    assert "2026-12-03" in report.findings[0].message
    assert report.status is Status.COMPLIANT
    assert report.backups_noncompliant == 0


def test_deleted_backups_are_counted_and_judged_by_no_rule() -> None:
    raw = backup(age_days=400, BackupState="DELETED", NeverExpires=True, Mode="NON_FIPS")
    report = audit_of([raw, backup()])
    assert report.backups_scanned == 2
    assert report.findings == []


@pytest.mark.parametrize("state", ["READY", "CREATE_IN_PROGRESS", "ARCHIVED_SOMEDAY", None])
def test_ready_in_progress_and_unknown_states_are_judged_by_every_rule(state: str | None) -> None:
    raw = backup(age_days=200, BackupState=state, NeverExpires=True, Mode="NON_FIPS", HsmType="x")
    if state is None:
        del raw["BackupState"]
    newest = backup()
    # A state the tool does not know is also never taken as compliant.
    unknown = [Rule.UNKNOWN_STATE] if state not in {"READY", "CREATE_IN_PROGRESS"} else []
    report = audit_of([raw, newest])
    assert rules_for(report, raw["BackupId"]) == sorted(
        [Rule.NEVER_EXPIRES, Rule.MODE, Rule.HSM_TYPE, *unknown]
    )
    raw_old = backup(age_days=200, BackupState=state)
    report = audit_of([raw_old, newest])
    assert rules_for(report, raw_old["BackupId"]) == sorted([Rule.OVERDUE, *unknown])


# --- retention-policy ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("retention", "fires"),
    [("90", False), ("30", False), ("379", False), ("7", True), (None, True)],
)
def test_retention_policy(retention: str | None, fires: bool) -> None:
    report = audit_of([backup()], clusters=[cluster(retention=retention)])
    cluster_rules = rules_for(report, None)
    assert (Rule.RETENTION_POLICY in cluster_rules) is fires


def test_retention_above_the_policy_maximum_fires() -> None:
    report = audit_of(
        [backup()], clusters=[cluster(retention="200")], policy=Policy(max_retention_days=180)
    )
    finding = next(f for f in report.findings if f.rule is Rule.RETENTION_POLICY)
    assert "Value=180" in finding.remediation


# --- overdue ------------------------------------------------------------------------------
def test_overdue_backup_older_than_retention_plus_grace() -> None:
    # Given 90 days' retention and 2 days' grace
    old, edge = backup(age_days=93), backup(age_days=91.5)
    report = audit_of([old, edge, backup()])
    # Then only the one past 92 days is overdue
    assert rules_for(report, old["BackupId"]) == [Rule.OVERDUE]
    assert rules_for(report, edge["BackupId"]) == []
    assert "cluster retention is 90 days" in report.findings[0].message


def test_a_clusters_newest_backup_is_never_overdue() -> None:
    # Given a cluster whose only READY backup is very old (the service keeps it)
    only = backup(age_days=300)
    report = audit_of([only], clusters=[cluster()])
    # Then it is not overdue, but the cluster is stale
    assert rules_for(report, only["BackupId"]) == []
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


def test_never_expires_backups_are_not_overdue() -> None:
    pinned = backup(age_days=300, NeverExpires=True)
    report = audit_of([pinned, backup()], policy=Policy(allow_never_expires=True))
    assert report.findings == []


@pytest.mark.parametrize(("age", "fires"), [(89, False), (91, True)])
def test_cross_region_copies_are_judged_against_max_copy_age(age: int, fires: bool) -> None:
    copy = backup(
        age_days=age,
        cluster_id="cluster-fromelsewhe",
        SourceBackup="backup-source00001",
        SourceRegion="eu-west-1",
        SourceCluster="cluster-fromelsewhe",
    )
    report = audit_of([copy, backup()])
    assert (Rule.OVERDUE in rules_for(report, copy["BackupId"])) is fires


def test_backups_of_an_unseen_cluster_are_judged_against_the_longest_allowed_retention() -> None:
    orphan_old = backup(age_days=382, cluster_id="cluster-deletedlong")
    orphan_ok = backup(age_days=370, cluster_id="cluster-deletedlong")
    report = audit_of([orphan_old, orphan_ok, backup()])
    assert rules_for(report, orphan_old["BackupId"]) == [Rule.OVERDUE]
    assert rules_for(report, orphan_ok["BackupId"]) == []


def test_missing_create_timestamp_is_never_taken_as_compliant() -> None:
    raw = backup()
    del raw["CreateTimestamp"]
    report = audit_of([raw, backup()])
    assert rules_for(report, raw["BackupId"]) == [Rule.OVERDUE]
    assert "cannot be judged" in report.findings[0].message


# --- stale-cluster -------------------------------------------------------------------------
@pytest.mark.parametrize(("hours", "fires"), [(10, False), (35, False), (40, True)])
def test_stale_cluster_by_age_of_newest_ready_backup(hours: int, fires: bool) -> None:
    report = audit_of([backup(age_days=hours / 24), backup(age_days=3)])
    assert (Rule.STALE_CLUSTER in rules_for(report, None)) is fires


def test_stale_cluster_counts_only_ready_backups() -> None:
    report = audit_of([backup(age_days=0.1, BackupState="CREATE_IN_PROGRESS"), backup(age_days=3)])
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


def test_cluster_without_backups_is_stale_unless_young_or_being_deleted() -> None:
    old = cluster("cluster-nobackupsold")
    young = cluster("cluster-nobackupsnew", CreateTimestamp=NOW - timedelta(hours=5))
    going = cluster("cluster-beingdeleted", State="DELETE_IN_PROGRESS")
    report = audit_of([], clusters=[old, young, going])
    stale = [f.cluster_id for f in report.findings if f.rule is Rule.STALE_CLUSTER]
    assert stale == ["cluster-nobackupsold"]
    assert "has no READY backup" in report.findings[0].message


# --- exemptions ---------------------------------------------------------------------------
def _exempt(expires: date, **target: str) -> Policy:
    return Policy(
        exemptions=(
            Exemption(
                rules=(Rule.NEVER_EXPIRES, Rule.RETENTION_POLICY),
                reason="legal hold",
                expires=expires,
                **target,
            ),
        )
    )


def test_an_active_exemption_removes_the_finding() -> None:
    pinned = backup(NeverExpires=True)
    report = audit_of([pinned], policy=_exempt(date(2027, 1, 1), backup_id=pinned["BackupId"]))
    assert report.findings == []
    assert report.status is Status.COMPLIANT


def test_an_expired_exemption_no_longer_applies_and_says_so() -> None:
    pinned = backup(NeverExpires=True)
    report = audit_of([pinned], policy=_exempt(date(2026, 11, 26), backup_id=pinned["BackupId"]))
    assert rules_for(report, pinned["BackupId"]) == [Rule.NEVER_EXPIRES]
    assert "Exemption expired 2026-11-26 (reason: legal hold)" in report.findings[0].message


def test_a_cluster_exemption_covers_cluster_rules_and_its_backups_only_for_listed_rules() -> None:
    pinned = backup(NeverExpires=True, Mode="NON_FIPS")
    report = audit_of(
        [pinned],
        clusters=[cluster(retention="7")],
        policy=_exempt(date(2027, 1, 1), cluster_id=CLUSTER),
    )
    assert rules_for(report, pinned["BackupId"]) == [Rule.MODE]
    assert rules_for(report, None) == []


# --- shared backups and de-duplication ------------------------------------------------------
@pytest.mark.parametrize("shared_first", [True, False])
def test_a_backup_seen_owned_and_shared_counts_once_as_owned(shared_first: bool) -> None:
    raw = backup(NeverExpires=True)
    audit = Audit(Policy(), NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()])
    order = [True, False] if shared_first else [False, True]
    for shared in order:
        audit.add_backups(ACCOUNT, REGION, shared, [raw])
    report = audit.finish(SCOPE)
    assert report.backups_scanned == 1
    assert [(f.rule, f.shared) for f in report.findings] == [(Rule.NEVER_EXPIRES, False)]
    assert "owning account" not in report.findings[0].remediation


def test_a_backup_shared_from_another_account_is_marked_shared_and_names_the_owner() -> None:
    foreign = backup(
        cluster_id="cluster-otheraccount",
        NeverExpires=True,
        BackupArn="arn:aws:cloudhsm:us-east-1:999999999999:backup/x",
    )
    report = audit_of([backup()], shared=[foreign])
    finding = next(f for f in report.findings if f.backup_id == foreign["BackupId"])
    assert finding.shared is True
    assert "ask the owning account" in finding.remediation


# --- status and counts ------------------------------------------------------------------------
def test_incomplete_wins_over_non_compliant_and_keeps_every_finding() -> None:
    audit = Audit(Policy(), NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()])
    audit.add_backups(ACCOUNT, REGION, False, [backup(NeverExpires=True), backup()])
    audit.add_error(ScanError(ACCOUNT, "eu-west-1", "DescribeBackups", "AccessDenied", "no"))
    report = audit.finish(SCOPE)
    assert report.status is Status.INCOMPLETE
    assert [f.rule for f in report.findings] == [Rule.NEVER_EXPIRES]
    assert report.backups_scanned == 2


def test_noncompliant_counts_distinct_backups_above_info() -> None:
    two_rules = backup(NeverExpires=True, Mode="NON_FIPS")
    one_rule = backup(HsmType="hsm1.medium")
    pending = backup(BackupState="PENDING_DELETION")
    report = audit_of([two_rules, one_rule, pending, backup()])
    assert report.backups_noncompliant == 2
    assert report.by_rule == {"hsm-type": 1, "mode": 1, "never-expires": 1, "pending-deletion": 1}


def test_freshness_is_not_judged_where_the_backups_could_not_be_read() -> None:
    # Given a cluster whose owned-backups listing failed
    audit = Audit(Policy(), NOW)
    audit.add_clusters(ACCOUNT, REGION, [cluster()])
    audit.backups_unavailable(ACCOUNT, REGION)
    audit.add_error(ScanError(ACCOUNT, REGION, "DescribeBackups", "Throttling", "gave up"))
    report = audit.finish(SCOPE)
    # Then it is not called stale on evidence the audit never saw; the run is INCOMPLETE
    assert report.findings == []
    assert report.status is Status.INCOMPLETE

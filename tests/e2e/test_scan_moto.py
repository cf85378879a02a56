"""The engine end to end against moto's CloudHSM v2 (in process, `mock_aws`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import Rule, Status
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document, to_text
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet, seed_demo_fleet


def test_the_demo_fleet_shows_each_problem_once(aws: None, now: datetime) -> None:
    # Given the embedded demo fleet in two regions
    seed_demo_fleet(now)
    # When it is scanned with the default policy
    report = scan(ScanRequest(regions=[PRIMARY, SECONDARY], policy=Policy(), now=now))
    # Then every kind of problem it holds is found, and only those
    assert report.status is Status.NON_COMPLIANT
    assert report.backups_scanned == 365 + 91 + 25 + 3 + 2 + 1
    assert report.by_rule == {
        "hsm-type": 2,
        "mode": 3,
        "never-expires": 1,
        "overdue": 1,
        "pending-deletion": 1,
        "retention-policy": 1,
        "stale-cluster": 1,
    }
    assert report.backups_noncompliant == 7
    assert report.errors == []
    assert report.by_region == {PRIMARY: 481, SECONDARY: 6}


def test_every_page_is_read_across_many_pages(aws: None, fleet: Fleet, now: datetime) -> None:
    # Given 1,234 compliant backups in one cluster (25 pages of 50)
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=1234 // 4, now=now)
    for hours in range(1, 4):
        fleet.add_daily_backups(PRIMARY, cluster, days=1234 // 4, now=now - timedelta(hours=hours))
    fleet.add_backup(PRIMARY, cluster, created=now - timedelta(hours=5))
    fleet.add_backup(PRIMARY, cluster, created=now - timedelta(hours=6))
    # When it is scanned
    report = scan(ScanRequest(regions=[PRIMARY], policy=Policy(), now=now))
    # Then every backup is counted, once
    assert report.backups_scanned == 1234
    assert report.status is Status.COMPLIANT


def test_shared_listing_is_deduplicated_and_can_be_turned_off(
    aws: None, fleet: Fleet, now: datetime
) -> None:
    # Given moto, which answers Shared=True with the account's own backups again
    cluster = fleet.add_cluster(PRIMARY)
    fleet.add_daily_backups(PRIMARY, cluster, days=120, now=now, never_expires=True)
    # When scanned with and without shared backups
    with_shared = scan(ScanRequest(regions=[PRIMARY], policy=Policy(), now=now))
    without = scan(ScanRequest(regions=[PRIMARY], policy=Policy(include_shared=False), now=now))
    # Then each backup counts once, as owned, either way
    for report in (with_shared, without):
        assert report.backups_scanned == 120
        assert report.by_rule == {"never-expires": 120}
        assert not any(f.shared for f in report.findings)
    assert to_document(with_shared)["scope"]["include_shared"] is True
    assert to_document(without)["scope"]["include_shared"] is False


def test_json_document_has_the_stable_shape(aws: None, fleet: Fleet, now: datetime) -> None:
    cluster = fleet.add_cluster(PRIMARY)
    pinned = fleet.add_backup(
        PRIMARY, cluster, created=now - timedelta(hours=2), never_expires=True
    )
    document = to_document(scan(ScanRequest(regions=[PRIMARY], policy=Policy(), now=now)))
    assert document["schema_version"] == 1
    assert document["status"] == "NON_COMPLIANT"
    assert document["generated_at"] == "2026-11-27T07:00:00Z"
    assert document["scope"]["regions"] == [PRIMARY]
    assert document["scope"]["account_id"] == "123456789012"
    assert document["summary"]["backups_scanned"] == 1
    assert document["summary"]["backups_noncompliant"] == 1
    assert document["summary"]["by_rule"] == {"never-expires": 1}
    finding = document["findings"][0]
    assert {k: finding[k] for k in ("rule", "severity", "region", "cluster_id", "backup_id")} == {
        "rule": "never-expires",
        "severity": "HIGH",
        "region": PRIMARY,
        "cluster_id": cluster,
        "backup_id": pinned,
    }
    assert finding["account_id"] == "123456789012"
    assert finding["shared"] is False
    assert finding["remediation"].startswith("aws cloudhsmv2 modify-backup-attributes")
    assert document["errors"] == []


def test_text_report_fits_80_columns_and_groups_by_rule(aws: None, now: datetime) -> None:
    seed_demo_fleet(now)
    text = to_text(scan(ScanRequest(regions=[PRIMARY, SECONDARY], policy=Policy(), now=now)))
    lines = text.splitlines()
    assert lines[0] == "CloudHSM backup audit: NON_COMPLIANT"
    assert max(len(line) for line in lines) <= 80
    headings = [line for line in lines if line.startswith("[")]
    assert headings[0] == "[HIGH] never-expires (1)"
    assert headings[-1] == "[INFO] pending-deletion (1)"
    assert len(headings) == len(Rule) - 1  # every rule but unknown-state: no demo backup has one

"""A backup owned by one audited account and shared with another: the owner's view wins,
whichever listing answers first (issue 9). Plain dicts, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

import pytest

from hsm_backup_audit.constants import Rule, Status
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
OWNER, SHARER, OTHER = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
CLUSTER = "cluster-ownersclust"
SCOPE = Scope((REGION,), OWNER, (OWNER, SHARER, OTHER), include_shared=True)


def backup(backup_id: str, age_days: float, owner: str = OWNER) -> dict[str, Any]:
    return {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{REGION}:{owner}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": CLUSTER,
        "CreateTimestamp": NOW - timedelta(days=age_days),
        "NeverExpires": False,
        "HsmType": "hsm2m.medium",
        "Mode": "FIPS",
    }


# The owner's cluster keeps 30 days: a 100-day-old backup is overdue there. A sharer does not
# see the cluster, so it can only judge against the longest retention (381 days): not overdue.
OWNERS_CLUSTER = {
    "ClusterId": CLUSTER,
    "State": "ACTIVE",
    "CreateTimestamp": NOW - timedelta(days=500),
    "BackupRetentionPolicy": {"Type": "DAYS", "Value": "30"},
}
OLD_SHARED = backup("backup-sharedold01", age_days=100)
FRESH = backup("backup-ownerfresh1", age_days=0.2)

Listing = tuple[str, bool, list[dict[str, Any]]]  # account, shared, items


def fold(listings: list[Listing]) -> Report:
    """As the scanner does: every account's clusters first, then the backup listings."""
    audit = Audit(Policy(), NOW)
    audit.add_clusters(OWNER, REGION, [OWNERS_CLUSTER])
    audit.add_clusters(SHARER, REGION, [])
    audit.add_clusters(OTHER, REGION, [])
    for account, shared, items in listings:
        audit.add_backups(account, REGION, shared, items)
    return audit.finish(SCOPE)


OWNED: Listing = (OWNER, False, [FRESH, OLD_SHARED])
SHARED_WITH_SHARER: Listing = (SHARER, True, [OLD_SHARED])
SHARED_WITH_OTHER: Listing = (OTHER, True, [OLD_SHARED])


@pytest.mark.parametrize("sharer_first", [True, False])
def test_the_owners_view_wins_whichever_listing_answers_first(sharer_first: bool) -> None:
    # Given the sharer's answer first (or last)
    order = [SHARED_WITH_SHARER, OWNED] if sharer_first else [OWNED, SHARED_WITH_SHARER]
    # When the audit folds them
    report = fold(order)
    # Then the backup is the owner's: counted there, judged by its cluster's retention
    assert report.backups_scanned == 2
    assert report.by_account == {OWNER: 2}
    assert [(f.rule, f.account_id, f.backup_id, f.shared) for f in report.findings] == [
        (Rule.OVERDUE, OWNER, "backup-sharedold01", False)
    ]
    assert "cluster retention is 30 days" in report.findings[0].message
    assert "owning account" not in report.findings[0].remediation
    assert report.status is Status.NON_COMPLIANT
    assert report.backups_noncompliant == 1


def test_both_arrival_orders_give_the_same_report() -> None:
    documents = [
        to_document(fold(list(order)))
        for order in permutations([OWNED, SHARED_WITH_SHARER, SHARED_WITH_OTHER])
    ]
    assert all(document == documents[0] for document in documents)
    assert documents[0]["summary"]["by_account"][SHARER] == {"backups_scanned": 0, "findings": 0}


def test_the_owners_newest_backup_seen_shared_first_keeps_its_cluster_fresh() -> None:
    # Given the owner's only fresh backup, listed first by a sharer
    fresh_only = backup("backup-onlyfresh01", age_days=0.5)
    report = fold([(SHARER, True, [fresh_only]), (OWNER, False, [fresh_only])])
    # Then the owner's cluster is fresh and the backup is the owner's
    assert report.findings == []
    assert report.by_account == {OWNER: 1}


def test_a_backup_only_ever_seen_shared_is_the_same_whoever_lists_it_first() -> None:
    # Given a backup of an account that is not audited, shared with two audited accounts
    foreign = backup("backup-foreign0001", age_days=3000, owner="999999999999")
    first = fold([(SHARER, True, [foreign]), (OTHER, True, [foreign])])
    second = fold([(OTHER, True, [foreign]), (SHARER, True, [foreign])])
    # Then the report does not depend on the order: one backup, under the lowest account
    assert to_document(first) == to_document(second)
    assert first.backups_scanned == 1
    about_it = [f for f in first.findings if f.backup_id == "backup-foreign0001"]
    assert [(f.rule, f.account_id, f.shared) for f in about_it] == [(Rule.OVERDUE, SHARER, True)]
    assert "ask the owning account" in about_it[0].remediation

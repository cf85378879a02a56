"""The edges the docs promise, on fixed inputs: the clock-skew window (docs/reliability.md:
a timestamp is "future" only when more than 5 minutes ahead) and an exemption's expiry day
(valid through that day, docs/policy.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hsm_backup_audit.constants import CLOCK_SKEW_SECONDS, Rule
from hsm_backup_audit.engine.asff import covering_exemption
from hsm_backup_audit.engine.changes import ResolvedFinding
from hsm_backup_audit.engine.policy import Exemption, Policy
from tests.unit.test_rules import NOW, audit_of, backup, cluster, rules_for

TODAY = NOW.date()


# --- clock skew ----------------------------------------------------------------------------
def test_the_documented_window_is_five_minutes() -> None:
    assert CLOCK_SKEW_SECONDS == 5 * 60


@pytest.mark.parametrize("ahead", [timedelta(minutes=4), timedelta(seconds=300)])
def test_a_timestamp_within_the_skew_window_is_judged_as_now(ahead: timedelta) -> None:
    # Given a cluster whose only backup's clock runs up to 5 minutes ahead of the audit's
    fresh = backup(age_days=-ahead.total_seconds() / 86400)
    # When it is audited
    report = audit_of([fresh], clusters=[cluster()])
    # Then it is an ordinary fresh backup: not "in the future", and the cluster is not stale
    assert report.findings == []


@pytest.mark.parametrize("ahead", [timedelta(seconds=301), timedelta(minutes=6)])
def test_a_timestamp_beyond_the_skew_window_proves_nothing(ahead: timedelta) -> None:
    # Given a cluster whose only backup claims to be from more than 5 minutes ahead
    future = backup(age_days=-ahead.total_seconds() / 86400)
    # When it is audited
    report = audit_of([future], clusters=[cluster()])
    # Then its age cannot be judged, and it does not make the cluster look fresh
    (overdue,) = [f for f in report.findings if f.backup_id == future["BackupId"]]
    assert overdue.rule is Rule.OVERDUE
    assert "is in the future" in overdue.message
    assert rules_for(report, None) == [Rule.STALE_CLUSTER]


# --- an exemption on its expiry day --------------------------------------------------------
def _exempting(pinned: dict[str, object], expires: date) -> Policy:
    return Policy(
        exemptions=(
            Exemption(
                backup_id=str(pinned["BackupId"]),
                rules=(Rule.NEVER_EXPIRES,),
                reason="legal hold",
                expires=expires,
            ),
        )
    )


@pytest.mark.parametrize(
    ("expires", "exempted"),
    [(TODAY - timedelta(days=1), False), (TODAY, True), (TODAY + timedelta(days=1), True)],
    ids=["expired yesterday", "expires today", "expires tomorrow"],
)
def test_an_exemption_holds_through_its_expiry_day(expires: date, exempted: bool) -> None:
    # Given a never-expiring backup exempted until the day before, of, or after the run
    pinned = backup(NeverExpires=True)
    # When it is audited
    report = audit_of([pinned], policy=_exempting(pinned, expires))
    # Then the exemption holds through its expiry day, and the day after it says it expired
    if exempted:
        assert report.findings == []
    else:
        assert rules_for(report, pinned["BackupId"]) == [Rule.NEVER_EXPIRES]
        assert f"Exemption expired {expires.isoformat()}" in report.findings[0].message


@pytest.mark.parametrize(
    ("expires", "covered"),
    [(TODAY - timedelta(days=1), False), (TODAY, True), (TODAY + timedelta(days=1), True)],
    ids=["expired yesterday", "expires today", "expires tomorrow"],
)
def test_security_hub_calls_a_finding_exempted_through_the_expiry_day(
    expires: date, covered: bool
) -> None:
    # Given a finding that left the report, and an exemption naming its backup
    pinned = backup(NeverExpires=True)
    gone = ResolvedFinding(
        id="v1-" + "0" * 32,
        rule=str(Rule.NEVER_EXPIRES),
        severity="HIGH",
        account_id="123456789012",
        region="us-east-1",
        cluster_id=str(pinned["ClusterId"]),
        backup_id=str(pinned["BackupId"]),
        first_seen=NOW - timedelta(days=3),
        message="NeverExpires is true.",
    )
    exemptions = _exempting(pinned, expires).exemptions
    # When Security Hub asks why it left
    found = covering_exemption(gone, exemptions, TODAY)
    # Then the exemption is the reason through its expiry day, and not after
    assert (found is not None) is covered

"""NOTIFY=changes: publish only when something is new or resolved, the status changed, the
run is INCOMPLETE, there is no baseline, or it is the weekly digest's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hsm_backup_audit.aws.history import History
from hsm_backup_audit.configuration import Configuration, ConfigurationError, load_configuration
from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.model import Finding, ScanError
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit.scheduled_audit import publish_reason

TOPIC = "arn:aws:sns:us-east-1:123456789012:digest"
WEDNESDAY = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
THURSDAY = WEDNESDAY + timedelta(days=1)


def config(notify: str = "changes", day: str = "monday") -> Configuration:
    return load_configuration(
        {
            "TOPIC_ARN": TOPIC,
            "REGIONS": "us-east-1",
            "REPORT_BUCKET": "reports",
            "NOTIFY": notify,
            "WEEKLY_DIGEST_DAY": day,
        }
    )


def finding(n: int) -> Finding:
    return Finding(
        rule=Rule.MODE,
        severity=RULE_SEVERITY[Rule.MODE],
        account_id="123456789012",
        region="us-east-1",
        cluster_id="cluster-abcdefghijk",
        backup_id=f"backup-{n:011d}",
        shared=False,
        message="NON_FIPS",
        remediation="fix",
    )


def run(findings: list[Finding], at: datetime, *, errors: bool = False) -> Report:
    status = Status.NON_COMPLIANT if findings else Status.COMPLIANT
    status = Status.INCOMPLETE if errors else status
    scan_errors = [ScanError("123456789012", "us-east-1", "DescribeBackups", "X", "x")]
    return Report(
        status=status,
        generated_at=at,
        scope=Scope(("us-east-1",), "123456789012", ("123456789012",), True),
        backups_scanned=10,
        findings=findings,
        errors=scan_errors if errors else [],
    )


def compared(today: Report, yesterday: Report | None) -> tuple[Report, History]:
    baseline = None
    if yesterday is not None:
        yesterday.changes = compute_changes(yesterday, None)
        baseline = to_document(yesterday)
    today.changes = compute_changes(today, baseline)
    return today, History(baseline=baseline)


def test_the_first_run_always_publishes() -> None:
    today, history = compared(run([], THURSDAY), None)
    assert publish_reason(today, config(), history) == "no baseline"


def test_the_same_findings_again_stay_silent_except_on_the_weekly_day() -> None:
    today, history = compared(run([finding(1)], THURSDAY), run([finding(1)], WEDNESDAY))
    assert publish_reason(today, config(), history) is None
    assert publish_reason(today, config(day="thursday"), history) == "weekly digest"


def test_new_or_resolved_findings_publish() -> None:
    today, history = compared(run([finding(2)], THURSDAY), run([finding(1)], WEDNESDAY))
    assert publish_reason(today, config(), history) == "changes"


def test_an_incomplete_run_always_publishes() -> None:
    today, history = compared(
        run([finding(1)], THURSDAY, errors=True), run([finding(1)], WEDNESDAY)
    )
    assert publish_reason(today, config(), history) == "incomplete"


def test_a_status_change_publishes_even_with_the_same_findings() -> None:
    # The last run was INCOMPLETE (the baseline is older): back to a complete view is news
    today, history = compared(run([finding(1)], THURSDAY), run([finding(1)], WEDNESDAY))
    history = History(baseline=history.baseline, last_status="INCOMPLETE")
    assert publish_reason(today, config(), history) == "status changed"


def test_the_other_notify_modes_are_unchanged() -> None:
    compliant, history = compared(run([], THURSDAY), run([], WEDNESDAY))
    assert publish_reason(compliant, config("always"), history) == "notify=always"
    assert publish_reason(compliant, config("findings"), history) is None


def test_notify_findings_sends_one_all_clear_when_the_status_turns_compliant() -> None:
    # Given yesterday NON_COMPLIANT and today COMPLIANT
    fixed, history = compared(run([], THURSDAY), run([finding(1)], WEDNESDAY))
    # Then NOTIFY=findings publishes the all-clear once
    assert publish_reason(fixed, config("findings"), history) == "all clear"
    # (also when the last run was INCOMPLETE and the baseline is older)
    assert (
        publish_reason(fixed, config("findings"), History(history.baseline, "INCOMPLETE"))
        == "all clear"
    )
    # and stays silent on the compliant days after, and on a first run that is compliant
    again, history = compared(run([], THURSDAY), run([], WEDNESDAY))
    assert publish_reason(again, config("findings"), history) is None
    first, history = compared(run([], THURSDAY), None)
    assert publish_reason(first, config("findings"), history) is None


def test_notify_changes_needs_the_report_bucket_and_a_weekday() -> None:
    env = {"TOPIC_ARN": TOPIC, "REGIONS": "us-east-1", "NOTIFY": "changes"}
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(env)
    assert str(raised.value) == "NOTIFY: changes needs REPORT_BUCKET (the run history)"
    with pytest.raises(ConfigurationError) as raised:
        load_configuration({**env, "REPORT_BUCKET": "reports", "WEEKLY_DIGEST_DAY": "someday"})
    assert str(raised.value).startswith("WEEKLY_DIGEST_DAY: ")
    friday = {**env, "REPORT_BUCKET": "reports", "WEEKLY_DIGEST_DAY": " Friday "}
    assert load_configuration(friday).weekly_digest_day == "friday"

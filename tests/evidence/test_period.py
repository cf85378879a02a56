"""The period's figures from hand-written reports: days, statuses, lifecycles, time to fix."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hsm_backup_audit.engine.period import PeriodError, build_period, slim_report
from hsm_backup_audit.engine.period_findings import percentile

from .documents import finding, report, sourced


def at(day: int, hour: int = 6) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


A, B, C = finding("backup-a"), finding("backup-b", "never-expires", "MEDIUM"), finding("backup-c")


def test_days_statuses_missed_and_lifecycles() -> None:
    # Given: day 1 A and B; day 2 A fixed (changes says why); day 3 missed; day 4 INCOMPLETE
    # without B (it could not see it); day 5 complete, B gone, C new; day 5 evening C again
    reports = [
        report(at(1), [A, B]),
        report(
            at(2),
            [B],
            resolved=[{**A, "first_seen": "2026-03-01T06:00:00Z", "reason": "backup deleted"}],
        ),
        report(at(4), [], errors=1),
        report(at(5), [C]),
        report(at(5, 20), [C]),
    ]
    period = build_period([sourced(d, f"r{i}.json") for i, d in enumerate(reports)])
    # Then the days
    assert [d.status for d in period.days] == [
        "NON_COMPLIANT",
        "NON_COMPLIANT",
        None,
        "INCOMPLETE",
        "NON_COMPLIANT",
    ]
    assert period.missed == [date(2026, 3, 3)]
    assert period.days_audited == 4 and period.days[-1].runs == 2
    assert period.days[0].open_by_severity == {"HIGH": 1, "MEDIUM": 1, "LOW": 0, "INFO": 0}
    # And each lifecycle: A resolved with the report's reason; B survives the INCOMPLETE day
    # and is resolved (no reason recorded) by the complete run that no longer has it
    cycles = {c.backup_id: c for c in period.lifecycles}
    assert (cycles["backup-a"].resolved_at, cycles["backup-a"].reason) == (at(2), "backup deleted")
    assert cycles["backup-a"].days_open == 1.0
    assert (cycles["backup-b"].last_seen, cycles["backup-b"].resolved_at) == (at(2), at(5))
    assert cycles["backup-b"].reason is None and cycles["backup-b"].days_open == 4.0
    assert cycles["backup-c"].resolved_at is None and cycles["backup-c"].days_open == 0.6
    assert [c.backup_id for c in period.open_at_end] == ["backup-c"]


def test_a_finding_absent_from_an_incomplete_run_is_not_resolved_there() -> None:
    # Catches: resolving every finding a run does not list, whatever it could see.
    period = build_period(
        [
            sourced(report(at(1), [A]), "1"),
            sourced(report(at(2), [], errors=1), "2"),
        ]
    )
    (cycle,) = period.lifecycles
    assert cycle.resolved_at is None and cycle.last_seen == at(1)


def test_first_seen_comes_from_the_report_and_a_reopened_finding_starts_again() -> None:
    old = {**A, "first_seen": "2026-01-01T06:00:00Z"}
    period = build_period(
        [
            sourced(report(at(1), [old]), "1"),
            sourced(report(at(2), []), "2"),
            sourced(report(at(3), [A]), "3"),
        ],
        today=date(2026, 3, 3),
    )
    first, second = period.lifecycles
    assert first.first_seen == datetime(2026, 1, 1, 6, tzinfo=UTC) and first.days_open == 60.0
    assert (second.first_seen, second.resolved_at) == (at(3), None)
    # open 60 days, but resolved: not open over 30 at the end
    assert period.open_over_30_days == []


def test_time_to_fix_median_and_p90_per_rule_and_severity() -> None:
    # Given ten mode findings fixed after 1..10 days and one resolved by an exemption
    findings = [finding(f"backup-{n}") for n in range(1, 12)]
    reports = [report(at(1), findings)]
    for n in range(1, 11):
        gone = findings[:n]
        reports.append(
            report(
                at(1 + n),
                [f for f in findings if f not in gone],
                resolved=[{**findings[n - 1], "reason": "fixed"}],
            )
        )
    reports.append(report(at(12), [], resolved=[{**findings[10], "reason": "exemption added"}]))
    period = build_period([sourced(d, str(i)) for i, d in enumerate(reports)])
    (row,) = period.fix_times
    assert (row.rule, row.severity, row.fixed) == ("mode", "HIGH", 10)
    assert (row.median_days, row.p90_days, row.open) == (5.5, 9.0, 0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1.0], 0.9) == 1.0
    assert percentile([float(n) for n in range(1, 21)], 0.9) == 18.0


def test_from_and_to_select_the_runs_and_every_day_between_is_scheduled() -> None:
    reports = [sourced(report(at(d), [A]), str(d)) for d in (1, 2, 5)]
    period = build_period(reports, date(2026, 3, 2), date(2026, 3, 6), today=date(2026, 3, 5))
    assert [r.at for r in period.runs] == [at(2), at(5)]
    assert [d.day.day for d in period.days] == [2, 3, 4, 5]  # the 6th is not scheduled yet
    assert period.missed == [date(2026, 3, 3), date(2026, 3, 4)]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"schema_version": 2}, "schema_version 1"),
        ({**report(at(1), []), "generated_at": "yesterday"}, "generated_at"),
        ({**report(at(1), []), "findings": None}, "findings"),
    ],
)
def test_a_document_that_is_no_report_is_refused_by_name(document: dict, problem: str) -> None:
    with pytest.raises(PeriodError, match=f"bad.json: .*{problem}"):
        build_period([sourced(document, "bad.json")])


def test_no_report_in_the_period_is_refused() -> None:
    with pytest.raises(PeriodError, match="no report from 2026-04-01"):
        build_period([sourced(report(at(1), []), "1")], date(2026, 4, 1), date(2026, 4, 2))


def test_a_finding_the_run_did_not_check_is_not_resolved_even_by_a_complete_run() -> None:
    # Catches: ignoring changes.not_checked (coverage's cells not read) in a complete run.
    run = report(at(2), [], resolved=[])
    run["changes"]["not_checked"] = [{**A}]
    for second in (run, slim_report(run, {})):  # as read, and as the source adapter keeps it
        period = build_period([sourced(report(at(1), [A]), "1"), sourced(second, "2")])
        (cycle,) = period.lifecycles
        assert cycle.resolved_at is None

"""The missed-run alarm's window follows the schedule: the longest gap between two runs."""

from __future__ import annotations

import pytest

from infra.schedule_gap import ScheduleGapError, longest_gap_hours


@pytest.mark.parametrize(
    ("expression", "hours"),
    [
        ("cron(0 7 * * ? *)", 24),  # daily
        ("cron(0 * * * ? *)", 1),  # hourly
        ("cron(0 9 ? * MON *)", 168),  # weekly
        ("cron(30 6 ? * MON-FRI *)", 72),  # weekdays: Friday to Monday
        ("cron(0 6,18 * * ? *)", 12),
        ("cron(*/15 * * * ? *)", 0.25),
        ("cron(0 0 1 * ? *)", 31 * 24),  # monthly: the longest month
        ("cron(0 8 L * ? *)", 31 * 24),  # last day of the month
        ("rate(1 hour)", 1),
        ("rate(6 hours)", 6),
        ("rate(1 day)", 24),
        ("rate(7 days)", 168),
        ("rate(30 minutes)", 0.5),
    ],
)
def test_longest_gap(expression: str, hours: float) -> None:
    assert longest_gap_hours(expression) == pytest.approx(hours)


def test_a_one_time_schedule_has_no_gap() -> None:
    assert longest_gap_hours("at(2027-01-01T07:00:00)") is None


@pytest.mark.parametrize(
    "expression", ["cron(0 7 * *)", "cron(0 25 * * ? *)", "rate(1 fortnight)", "daily"]
)
def test_an_unreadable_schedule_is_one_line(expression: str) -> None:
    with pytest.raises(ScheduleGapError) as raised:
        longest_gap_hours(expression)
    assert "\n" not in str(raised.value)

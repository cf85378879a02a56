"""The open-findings chart's geometry: one line per severity, broken on a missed day, zero
at the bottom and the peak at the top; the calendar keeps only weeks of the period."""

from __future__ import annotations

from datetime import date, timedelta

from hsm_backup_audit.engine.period import Day
from hsm_backup_audit.render.chart import HEIGHT, LEFT, TOP, months, open_findings_chart

BOTTOM_Y = HEIGHT - 28  # TOP + plot height


def day(n: int, high: int | None) -> Day:
    counts = None if high is None else {"HIGH": high, "MEDIUM": 0, "LOW": 0, "INFO": 0}
    return Day(date(2026, 3, 1) + timedelta(days=n), "NON_COMPLIANT" if counts else None, 1, counts)


def test_a_missed_day_breaks_each_line_and_values_scale_to_the_peak() -> None:
    chart = open_findings_chart([day(0, 4), day(1, 2), day(2, None), day(3, 0)])
    high = next(line for line in chart.lines if line.severity == "HIGH")
    assert len(high.segments) == 2  # days 0-1, then day 3
    first = [tuple(map(float, p.split(","))) for p in high.segments[0].split()]
    assert first[0] == (LEFT, TOP) and first[1][1] == (TOP + BOTTOM_Y) / 2
    assert high.segments[1].endswith(f",{float(BOTTOM_Y)}")
    assert chart.peak == 4 and [v for _, v in chart.y_ticks] == [0, 2, 4]


def test_the_calendar_keeps_only_the_weeks_of_the_period() -> None:
    (march,) = months([day(n, 1) for n in range(9, 12)])  # Tue 10 to Thu 12 March 2026
    (week,) = march.weeks
    assert [d.day.day if d else None for d in week] == [None, 10, 11, 12, None, None, None]

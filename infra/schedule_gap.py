"""The longest gap between two runs of an EventBridge Scheduler expression.

The missed-run alarm's window is derived from it: a weekly schedule must not sit in
ALARM for six days of seven. `rate(...)` is exact; `cron(...)` is walked day by day over
two years (wall-clock time, so a daylight-saving hour is left to the alarm's slack);
`at(...)` runs once, so it has no gap. Expression syntax: EventBridge Scheduler's
"Schedule types" page (six cron fields: minutes hours day-of-month month day-of-week year).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import date, timedelta

RATE = re.compile(r"^rate\(([0-9]+)\s+(minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNIT_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # cron's 1 to 7
# L (last), W (weekday) and # (nth weekday) only occur in monthly patterns.
MONTHLY_GAP_HOURS = 31 * 24.0
WALK_START = date(2025, 1, 1)
WALK_DAYS = 2 * 366


class ScheduleGapError(ValueError):
    """The expression cannot be read; the message is one line."""


def longest_gap_hours(expression: str) -> float | None:
    """Hours between the two runs furthest apart; None for a one-time `at(...)`."""
    text = expression.strip()
    if text.startswith("at("):
        return None
    rate = RATE.fullmatch(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise ScheduleGapError(f"{expression!r}: a rate must be at least 1")
        return value * UNIT_HOURS[unit]
    cron = CRON.fullmatch(text)
    if cron:
        return _cron_gap_hours(cron.group(1).split(), expression)
    raise ScheduleGapError(f"{expression!r} is not cron(...), rate(...) or at(...)")


def _cron_gap_hours(fields: list[str], expression: str) -> float | None:
    if len(fields) != 6:
        raise ScheduleGapError(f"{expression!r}: cron takes six fields, got {len(fields)}")
    if any(mark in field for field in fields[2:5] for mark in ("L", "W", "#")):
        return MONTHLY_GAP_HOURS
    minutes = _values(fields[0], 0, 59, [], expression)
    hours = _values(fields[1], 0, 23, [], expression)
    days = _values(fields[2], 1, 31, [], expression)
    months = _values(fields[3], 1, 12, MONTHS, expression)
    weekdays = _values(fields[4], 1, 7, WEEKDAYS, expression)
    if fields[5] not in {"*", "?"}:
        return None  # runs in given years only: it ends, no steady gap to alarm on
    times = sorted(h * 60 + m for h in hours for m in minutes)  # minutes after midnight
    run_days = [
        day
        for day in _walk()
        if day.month in months and day.day in days and _cron_weekday(day) in weekdays
    ]
    if not times or not run_days or (len(run_days) == 1 and len(times) == 1):
        return None
    within_a_day = max((b - a for a, b in itertools.pairwise(times)), default=0)
    between_days = max(
        (
            (later - earlier).days * 1440 + times[0] - times[-1]
            for earlier, later in itertools.pairwise(run_days)
        ),
        default=0,
    )
    return max(within_a_day, between_days) / 60


def _walk() -> Iterator[date]:
    for offset in range(WALK_DAYS):
        yield WALK_START + timedelta(days=offset)


def _cron_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python, 2 in cron


def _values(field: str, low: int, high: int, names: list[str], expression: str) -> set[int]:
    if field in {"*", "?"}:
        return set(range(low, high + 1))
    values: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, 1, high, [], expression) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, last = span.split("-", 1)
            start = _number(first, low, high, names, expression)
            end = _number(last, low, high, names, expression)
        else:
            start = _number(span, low, high, names, expression)
            end = high if step_text else start
        if end < start:
            raise ScheduleGapError(f"{expression!r}: {part!r} is an empty range")
        values.update(range(start, end + 1, step))
    return values


def _number(text: str, low: int, high: int, names: list[str], expression: str) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + low
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ScheduleGapError(f"{expression!r}: {text!r} is not in {low}-{high}")
    return int(text)

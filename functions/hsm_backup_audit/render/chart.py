"""Geometry for the page's pictures, as plain numbers the templates draw: the open-findings
chart (one polyline per severity, broken on missed days) and the month calendars."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass

from ..engine.period import SEVERITIES, Day

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Line:
    severity: str
    segments: tuple[str, ...]  # SVG polyline points, one string per unbroken run of days


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, int], ...]  # (y, value)
    x_labels: tuple[tuple[float, str], ...]  # (x, date)
    peak: int


def open_findings_chart(days: Sequence[Day]) -> Chart:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max((max(d.open_by_severity.values()) for d in days if d.open_by_severity), default=0)
    scale = max(peak, 1)
    step = plot_w / max(len(days) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h - value * plot_h / scale, 1)

    lines = []
    for severity in SEVERITIES:
        segments: list[str] = []
        points: list[str] = []
        for index, day in enumerate(days):
            if day.open_by_severity is None:
                if points:
                    segments.append(" ".join(points))
                points = []
                continue
            points.append(f"{x(index)},{y(day.open_by_severity[severity])}")
        if points:
            segments.append(" ".join(points))
        lines.append(Line(severity, tuple(segments)))
    ticks = tuple((y(v), v) for v in sorted({0, scale // 2, scale}))
    picks = sorted({0, (len(days) - 1) // 2, len(days) - 1})
    labels = tuple((x(i), days[i].day.isoformat()) for i in picks if days)
    return Chart(WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h, tuple(lines), ticks, labels, peak)


@dataclass(frozen=True)
class Month:
    title: str  # e.g. 2026-03
    weeks: tuple[tuple[Day | None, ...], ...]  # Monday first; None: a day outside the period


def months(days: Sequence[Day]) -> tuple[Month, ...]:
    by_day = {d.day: d for d in days}
    out = []
    seen: list[tuple[int, int]] = []
    for d in days:
        if (d.day.year, d.day.month) not in seen:
            seen.append((d.day.year, d.day.month))
    for year, month in seen:
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
        out.append(
            Month(
                title=f"{year:04d}-{month:02d}",
                weeks=tuple(
                    tuple(by_day.get(day) if day.month == month else None for day in week)
                    for week in weeks
                    if any(day in by_day and day.month == month for day in week)
                ),
            )
        )
    return tuple(out)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

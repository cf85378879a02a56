"""The evidence page: one self-contained HTML file (inline CSS and SVG, no script), from
the Jinja2 templates beside this file, every value autoescaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..constants import Status
from ..engine.period import SEVERITIES, Period
from ..engine.report import iso
from .chart import WEEKDAYS, months, open_findings_chart

TEMPLATES = Path(__file__).parent / "templates"
STATUS_MARK = {
    str(Status.COMPLIANT): "C",
    str(Status.NON_COMPLIANT): "N",
    str(Status.INCOMPLETE): "I",
    None: "missed",
}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = lambda moment: iso(moment) if moment is not None else ""
    env.filters["days"] = lambda value: "" if value is None else f"{value:.1f}"
    return env


def evidence_html(
    period: Period,
    *,
    sources: Sequence[str],
    asked_from: date | None,
    asked_to: date | None,
    generated_at: datetime,
) -> str:
    """The page for `period`, naming how it was made (sources, --from, --to)."""
    return (
        environment()
        .get_template("evidence.html")
        .render(
            period=period,
            statuses=[str(s) for s in Status],
            severities=SEVERITIES,
            chart=open_findings_chart(period.days),
            months=months(period.days),
            weekdays=WEEKDAYS,
            mark=STATUS_MARK,
            sources=list(sources),
            asked_from=asked_from.isoformat() if asked_from else "the first report",
            asked_to=asked_to.isoformat() if asked_to else "the last report",
            generated_at=iso(generated_at),
        )
    )

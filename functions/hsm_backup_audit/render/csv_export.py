"""The lifecycle CSV: one row per finding lifecycle, cells neutralised against CSV injection.

OWASP (CSV Injection): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is read as a formula by spreadsheets; it is written with a leading `'`, so it stays
text. Every cell is quoted, so a comma or quote inside a value cannot start another cell.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ..engine.period import Period
from ..engine.report import iso

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "rule",
    "severity",
    "account_id",
    "region",
    "cluster_id",
    "backup_id",
    "first_seen",
    "last_seen",
    "resolved_at",
    "days_open",
    "resolved_reason",
)


def neutralised(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def lifecycle_csv(period: Period) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for cycle in period.lifecycles:
        writer.writerow(
            neutralised(value)
            for value in (
                cycle.id,
                cycle.rule,
                cycle.severity,
                cycle.account_id,
                cycle.region,
                cycle.cluster_id,
                cycle.backup_id,
                iso(cycle.first_seen),
                iso(cycle.last_seen),
                iso(cycle.resolved_at) if cycle.resolved_at else "",
                f"{cycle.days_open:.1f}",
                cycle.reason or ("" if cycle.resolved_at is None else "not recorded"),
            )
        )
    return out.getvalue()

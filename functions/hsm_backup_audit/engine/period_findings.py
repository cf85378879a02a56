"""Each finding's lifecycles over a period's runs, and the time to fix per rule and severity.
Pure: no AWS. The rules for when a finding is resolved are in period.py's docstring."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..constants import Status
from .model import as_utc, safe_text

# Resolutions that count as a fix for time to fix (None: the report did not say why).
FIX_REASONS = frozenset({None, "fixed", "backup deleted", "cluster deleted"})
LONG_OPEN_DAYS = 30
SECONDS_A_DAY = 86_400


class RunLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def source(self) -> Any: ...  # .document: the report


@dataclass(frozen=True)
class Lifecycle:
    id: str
    rule: str
    severity: str
    account_id: str
    region: str
    cluster_id: str
    backup_id: str | None
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    reason: str | None  # why it was resolved, where the report says
    days_open: float  # to resolved_at, or to the period's last run when still open


@dataclass(frozen=True)
class FixTime:
    rule: str
    severity: str
    fixed: int
    median_days: float | None
    p90_days: float | None
    open: int
    open_over_30_days: int


def days_between(first: datetime, last: datetime) -> float:
    return round(max((last - first).total_seconds(), 0) / SECONDS_A_DAY, 1)


@dataclass
class _Open:
    entry: Mapping[str, Any]
    first_seen: datetime
    last_seen: datetime


def _close(item: _Open, at: datetime | None, reason: str | None, as_of: datetime) -> Lifecycle:
    entry = item.entry
    backup_id = entry.get("backup_id")
    return Lifecycle(
        id=safe_text(entry.get("id"), 64),
        rule=safe_text(entry.get("rule"), 64),
        severity=safe_text(entry.get("severity"), 16),
        account_id=safe_text(entry.get("account_id"), 64),
        region=safe_text(entry.get("region"), 64),
        cluster_id=safe_text(entry.get("cluster_id")),
        backup_id=safe_text(backup_id) if backup_id is not None else None,
        first_seen=item.first_seen,
        last_seen=item.last_seen,
        resolved_at=at,
        reason=reason,
        days_open=days_between(item.first_seen, at or as_of),
    )


def _resolved_here(document: Mapping[str, Any]) -> dict[str, str | None] | None:
    """{finding id: reason} from the run's `changes.resolved`; None: no changes section."""
    changes = document.get("changes")
    if not isinstance(changes, Mapping) or not isinstance(changes.get("resolved"), list):
        return None
    out: dict[str, str | None] = {}
    for entry in changes["resolved"]:
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            reason = entry.get("reason")
            out[entry["id"]] = safe_text(reason, 40) if isinstance(reason, str) else "fixed"
    return out


def _not_checked(document: Mapping[str, Any]) -> set[str]:
    """Ids the run's `changes.not_checked` names: in cells it did not read."""
    changes = document.get("changes")
    listed = changes.get("not_checked") if isinstance(changes, Mapping) else None
    if not isinstance(listed, list):
        return set()
    return {e["id"] for e in listed if isinstance(e, Mapping) and isinstance(e.get("id"), str)}


def _saw_everything(document: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    """A complete run whose scope held the finding's account and region."""
    scope = document.get("scope")
    if document.get("status") == Status.INCOMPLETE or not isinstance(scope, Mapping):
        return False
    return entry.get("account_id") in (scope.get("accounts") or ()) and entry.get("region") in (
        scope.get("regions") or ()
    )


def lifecycles(runs: Sequence[RunLike]) -> tuple[Lifecycle, ...]:
    """Every finding's lifecycles over the runs (in time order), resolved ones first."""
    if not runs:
        return ()
    opened: dict[str, _Open] = {}
    closed: list[Lifecycle] = []
    as_of = runs[-1].at
    for run in runs:
        document = run.source.document
        present: dict[str, Mapping[str, Any]] = {}
        for entry in document["findings"]:
            if isinstance(entry.get("id"), str):
                present.setdefault(entry["id"], entry)
        for finding_id, entry in present.items():
            item = opened.get(finding_id)
            if item is None:
                first = as_utc(entry.get("first_seen"))
                first = first if first is not None and first <= run.at else run.at
                opened[finding_id] = _Open(entry, first, run.at)
            else:
                item.entry, item.last_seen = entry, run.at
        resolved = _resolved_here(document) or {}
        unseen = _not_checked(document)
        for finding_id in [i for i in opened if i not in present and i not in unseen]:
            item = opened[finding_id]
            if finding_id in resolved or _saw_everything(document, item.entry):
                closed.append(_close(item, run.at, resolved.get(finding_id), as_of))
                del opened[finding_id]
    still_open = [_close(item, None, None, as_of) for item in opened.values()]
    return (*closed, *still_open)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def fix_times(cycles: Iterable[Lifecycle]) -> tuple[FixTime, ...]:
    """Per rule and severity: findings fixed (median and 90th percentile days), still open,
    and open longer than 30 days. Resolutions by exemption or leaving the scope are no fix."""
    groups: dict[tuple[str, str], list[Lifecycle]] = {}
    for cycle in cycles:
        groups.setdefault((cycle.rule, cycle.severity), []).append(cycle)
    out = []
    for (rule, severity), items in sorted(groups.items()):
        fixed = [
            c.days_open for c in items if c.resolved_at is not None and c.reason in FIX_REASONS
        ]
        still = [c for c in items if c.resolved_at is None]
        out.append(
            FixTime(
                rule=rule,
                severity=severity,
                fixed=len(fixed),
                median_days=round(statistics.median(fixed), 1) if fixed else None,
                p90_days=percentile(fixed, 0.9) if fixed else None,
                open=len(still),
                open_over_30_days=sum(1 for c in still if c.days_open > LONG_OPEN_DAYS),
            )
        )
    return tuple(out)

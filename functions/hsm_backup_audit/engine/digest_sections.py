"""The digest's lists: findings grouped per cluster and rule, fitted into a byte budget.

A cluster with GROUP_FROM or more findings of one rule is one entry (`cluster-x
eu-west-1 123456789012: 412 backups mode`, a few example ids, one message and fix);
smaller ones are listed one by one. Entries are rendered only while they fit, so the
cost is bounded by the budget, not by the fleet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .model import safe_text

GROUP_FROM = 4  # this many findings of one rule in one cluster become one entry
EXAMPLE_IDS = 3
FAIR_SHARE = 5  # every section with entries shows at least this many before any shows more


class Located(Protocol):
    """What a finding and a resolved finding share."""

    @property
    def rule(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def cluster_id(self) -> str: ...
    @property
    def backup_id(self) -> str | None: ...


Entry = Sequence[Any]  # one finding, or a group of one rule in one cluster
Render = Callable[[Entry], list[str]]


def clean(value: Any, limit: int) -> str:
    return safe_text(value, limit)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def entries(findings: Iterable[Located]) -> list[Entry]:
    """Findings into entries: a group per rule and cluster with GROUP_FROM or more, else one
    entry each; in the order each rule and cluster first appears."""
    runs: dict[tuple[str, str, str, str], list[Located]] = {}
    for finding in findings:
        key = (finding.rule, finding.account_id, finding.region, finding.cluster_id)
        runs.setdefault(key, []).append(finding)
    out: list[Entry] = []
    for items in runs.values():
        if len(items) >= GROUP_FROM:
            out.append(items)
        else:
            out.extend([item] for item in items)
    return out


def where(entry: Entry) -> str:
    """`backup-x  cluster c  region  account` for one, `cluster c  region  account: N backups`
    for a group."""
    first = entry[0]
    cluster = clean(first.cluster_id, 80)
    place = f"{clean(first.region, 30)}  {clean(first.account_id, 20)}"
    if len(entry) > 1:
        return f"cluster {cluster}  {place}: {plural(len(entry), 'backup')}"
    if first.backup_id:
        return f"{clean(first.backup_id, 80)}  cluster {cluster}  {place}"
    return f"cluster {cluster}  {place}"


def examples(entry: Entry) -> list[str]:
    if len(entry) == 1:
        return []
    ids = ", ".join(clean(f.backup_id, 80) for f in entry[:EXAMPLE_IDS])
    more = len(entry) - EXAMPLE_IDS
    tail = f" and {more:,} more (every id is in the full report)" if more > 0 else ""
    return [f"    e.g. {ids}{tail}"]


def size_of(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


@dataclass
class Section:
    """A heading and its entries; `shown` is filled in by `fit`."""

    heading: list[str]
    entries: list[Entry]
    render: Render
    more: str  # "... N more {more} not shown"
    shown: int = 0
    _cache: dict[int, list[str]] | None = None

    def block(self, index: int) -> list[str]:
        if self._cache is None:
            self._cache = {}
        if index not in self._cache:
            self._cache[index] = self.render(self.entries[index])
        return self._cache[index]

    def lines(self) -> list[str]:
        out = list(self.heading)
        for index in range(self.shown):
            out += self.block(index)
        left = sum(len(e) for e in self.entries[self.shown :])
        if left:
            out.append(f"  ... {left:,} more {self.more} not shown")
        return out

    @property
    def findings_shown(self) -> int:
        return sum(len(e) for e in self.entries[: self.shown])


HEADING_OVERHEAD = 200  # a heading and its "more not shown" line


def fit(sections: list[Section], budget: int) -> None:
    """How many entries of each section fit: a fair share of each first, then in order."""
    used = HEADING_OVERHEAD * len(sections)
    for limit in (FAIR_SHARE, None):
        for section in sections:
            stop = len(section.entries)
            if limit is not None:
                stop = min(limit, stop)
            while section.shown < stop:
                size = size_of(section.block(section.shown))
                if used + size > budget:
                    return
                used += size
                section.shown += 1


AUTO_FIX_IDS_SHOWN = 20


def auto_fix_lines(
    changed: Sequence[str],
    not_changed: Sequence[tuple[str, str]],
    journal: str | None,
    problem: str | None = None,
) -> list[str]:
    """The digest's account of the automatic fixes (autoFix=never-expires): exactly which
    backups it changed, what it left and why, and where the journal is (for `undo`)."""
    if not changed and not not_changed and not problem:
        return []
    lines = ["", f"AUTOMATIC FIXES: NeverExpires set to false on {len(changed):,} backup(s)"]
    lines += [f"  changed {safe_text(b)}" for b in changed[:AUTO_FIX_IDS_SHOWN]]
    lines += [
        f"  not changed {safe_text(b)}: {safe_text(reason, 200)}"
        for b, reason in not_changed[:AUTO_FIX_IDS_SHOWN]
    ]
    hidden = max(len(changed) - AUTO_FIX_IDS_SHOWN, 0)
    hidden += max(len(not_changed) - AUTO_FIX_IDS_SHOWN, 0)
    if hidden:
        lines.append(f"  ... {hidden:,} more in the journal")
    if journal:
        lines.append(f"  journal: {safe_text(journal, 1100)} (undo: hsm-backup-audit undo FILE)")
    if problem:
        lines.append(f"  JOURNAL NOT STORED: {safe_text(problem, 300)}")
    return lines

"""The digest's lists: findings grouped per rule, then cluster, fitted into a byte budget.

A rule with more than SINGLES findings in a list is one entry: a line per cluster with
its count (`cluster-x  eu-west-1  123456789012: 412 backups`), what every member shares,
and one command that fixes them all. Smaller ones are listed one by one with their own
fix. Entries are rendered only while they fit, so the cost is bounded by the budget.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..constants import RULES_IN_REPORT_ORDER
from .model import safe_text

SINGLES = 3  # a rule with at most this many findings in a list is shown one by one
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


Entry = Sequence[Any]  # one finding, or every finding of one rule in one list
Render = Callable[[Entry], list[str]]


def clean(value: Any, limit: int) -> str:
    return safe_text(value, limit)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def by_rule(findings: Iterable[Located]) -> dict[str, list[Any]]:
    """Per rule in report order (an unknown rule last), each in the order given."""
    order = {str(rule): n for n, rule in enumerate(RULES_IN_REPORT_ORDER)}
    rules: dict[str, list[Any]] = {}
    for finding in findings:
        rules.setdefault(str(finding.rule), []).append(finding)
    return dict(sorted(rules.items(), key=lambda item: order.get(item[0], len(order))))


def entries(findings: Sequence[Located]) -> list[Entry]:
    """One rule's findings into entries: one each up to SINGLES, else one block of all."""
    if len(findings) > SINGLES:
        return [list(findings)]
    return [[finding] for finding in findings]


def size_of(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


@dataclass
class Section:
    """A heading and its entries; `shown` is filled in by `fit`."""

    heading: list[str]
    entries: list[Entry]
    render: Render
    more: str  # "... N more {more} not shown"
    kind: str = "open"  # new, resolved, not_checked or open: where it goes in the body
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


CONSOLE_OBJECT_URL = "https://console.aws.amazon.com/s3/object/{bucket}?prefix={key}"


def evidence_lines(evidence: tuple[str, str] | None) -> list[str]:
    """The monthly evidence page this run wrote, (bucket, key): where to open or copy it."""
    if evidence is None:
        return []
    bucket, key = (clean(part, 300) for part in evidence)
    url = CONSOLE_OBJECT_URL.format(bucket=bucket, key=urllib.parse.quote(key, safe="/"))
    return ["", f"Evidence page for last month: {url}", f"  aws s3 cp s3://{bucket}/{key} ."]


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

"""The digest's subject and its first lines' counts: what is news, INFO apart. Pure.

SNS Publish takes a subject "less than 100 characters long" (botocore's model of
Publish): the subject is built from parts in order of importance (status, new,
resolved, then the rest) and a part that does not fit is left out, never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..constants import DIGEST_SUBJECT_MAX, Severity, Status
from .audit import Report
from .digest_sections import clean, plural
from .model import Finding

SEVERITIES_HIGH_FIRST = tuple(reversed(Severity))


@dataclass(frozen=True)
class News:
    """What changed since the baseline, INFO apart (pending deletions a fix causes)."""

    new: list[Finding]  # above INFO
    new_info: int
    resolved: int  # above INFO
    resolved_info: int
    by_severity_new: dict[str, int]
    by_severity_resolved: dict[str, int]

    @property
    def info(self) -> int:
        return self.new_info + self.resolved_info


def news(report: Report, new: list[Finding]) -> News | None:
    """None without a baseline (nothing can be called new or resolved)."""
    changes = report.changes
    if changes is None or changes.baseline_generated_at is None:
        return None
    above = [f for f in new if f.severity > Severity.INFO]
    gone = [r for r in changes.resolved if r.severity != Severity.INFO.name]
    new_counts = {s.name: sum(1 for f in new if f.severity == s) for s in SEVERITIES_HIGH_FIRST}
    resolved_counts = {
        s.name: sum(1 for r in changes.resolved if r.severity == s.name)
        for s in SEVERITIES_HIGH_FIRST
    }
    return News(
        new=above,
        new_info=len(new) - len(above),
        resolved=len(gone),
        resolved_info=len(changes.resolved) - len(gone),
        by_severity_new=new_counts,
        by_severity_resolved=resolved_counts,
    )


def split_new(report: Report) -> tuple[list[Finding], list[Finding]]:
    """(new, still open) in report order. Without a baseline nothing is marked new."""
    changes = report.changes
    if changes is None or changes.baseline_generated_at is None or not changes.new:
        return [], report.findings
    new_ids = set(changes.new)
    new: list[Finding] = []
    still_open: list[Finding] = []
    for finding in report.findings:  # each id is a SHA-256: computed once per finding here
        (new if finding.id in new_ids else still_open).append(finding)
    return new, still_open


def counted(counts: dict[str, int], *, info: bool = True) -> str:
    """`2 HIGH, 38 MEDIUM` (zeros, and INFO unless `info`, left out), or `none`."""
    shown = [f"{n:,} {name}" for name, n in counts.items() if n and (info or name != "INFO")]
    return ", ".join(shown) or "none"


def who(report: Report) -> str:
    accounts = report.scope.accounts
    return f"{len(accounts)} accounts" if len(accounts) > 1 else clean(report.scope.account_id, 20)


def _ascii(text: str) -> str:
    return clean(text, 1000).encode("ascii", "replace").decode("ascii")


def subject_line(
    report: Report, new: list[Finding] | None = None, *, weekly: bool = False
) -> str:
    """One ASCII line of at most DIGEST_SUBJECT_MAX characters: status, new, resolved first;
    what does not fit is left out whole."""
    counts = news(report, split_new(report)[0] if new is None else new)
    lead = f"[{report.status}]"
    if weekly:
        lead += " weekly digest:"
    if report.status == Status.INCOMPLETE:
        lead += f" {plural(len(report.errors), 'scan error')};"
    core, info, since = "", "", ""
    if counts is not None and report.changes is not None:
        all_clear = report.status == Status.COMPLIANT and counts.resolved
        core = f" {'all clear: ' if all_clear else ''}{len(counts.new):,} new"
        core += f", {counts.resolved:,} resolved"
        if counts.info:
            info = f" (+{counts.info:,} INFO)"
        if report.changes.baseline_generated_at is not None:
            since = f" since {report.changes.baseline_generated_at:%Y-%m-%d}"
    findings = report.findings
    clusters = len({(f.account_id, f.region, f.cluster_id) for f in findings})
    total = f": {plural(len(findings), 'finding')}"
    if counts is None:
        total += f" in {plural(clusters, 'cluster')}"
        if report.status == Status.COMPLIANT:
            total = f": {plural(report.backups_scanned, 'backup')} checked, {total[2:]}"
    what = f"{' -' if core else ''} CloudHSM backups {_ascii(who(report))}"
    # Parts in order of importance: the first always fits; each next one only if it does.
    parts = [(0, lead + core), (1, what), (2, total), (3, info), (4, since)]
    kept: set[int] = {0}
    for rank, _ in parts[1:]:
        trial = kept | {rank}
        if len("".join(t for r, t in parts if r in trial)) <= DIGEST_SUBJECT_MAX:
            kept = trial
    order = [(0, lead + core), (4, since), (3, info), (1, what), (2, total)]
    return _ascii("".join(text for rank, text in order if rank in kept))

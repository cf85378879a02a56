"""The digest's subject and its first lines' counts: what is news, INFO apart. Pure.

SNS Publish takes a subject "less than 100 characters long" (botocore's model of
Publish): the subject is built from parts in order of importance (status, new,
resolved, then the rest) and a part that does not fit is left out, never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..constants import DIGEST_SUBJECT_MAX, Severity, Status
from .audit import Report
from .changes import to_archive
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
    # Only what this run read and found gone is resolved: never "no longer audited"
    resolved = to_archive(changes)
    gone = [r for r in resolved if r.severity != Severity.INFO.name]
    new_counts = {s.name: sum(1 for f in new if f.severity == s) for s in SEVERITIES_HIGH_FIRST}
    resolved_counts = {
        s.name: sum(1 for r in resolved if r.severity == s.name) for s in SEVERITIES_HIGH_FIRST
    }
    return News(
        new=above,
        new_info=len(new) - len(above),
        resolved=len(gone),
        resolved_info=len(resolved) - len(gone),
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


@dataclass(frozen=True)
class SubjectFacts:
    """Everything a subject says, as plain values (so every subject can be tested)."""

    status: str
    who: str
    findings: int
    clusters: int
    backups: int
    errors: int = 0
    weekly: bool = False
    new: int | None = None  # None: no baseline, nothing is new or resolved
    resolved: int = 0
    info: int = 0  # INFO findings new or resolved, shown apart
    since: str | None = None  # the baseline's day


def compose_subject(facts: SubjectFacts) -> str:
    """Parts in order of importance; each is kept only if it still fits whole, so the
    subject is at most DIGEST_SUBJECT_MAX characters and never cut mid-part."""
    status = f"[{facts.status}]"
    weekly = " weekly digest:" if facts.weekly else ""
    errors = f" {plural(facts.errors, 'scan error')};" if facts.status == Status.INCOMPLETE else ""
    core, info, since = "", "", ""
    if facts.new is not None:
        all_clear = facts.status == Status.COMPLIANT and facts.resolved
        core = (
            f" {'all clear: ' if all_clear else ''}{facts.new:,} new, {facts.resolved:,} resolved"
        )
        info = f" (+{facts.info:,} INFO)" if facts.info else ""
        since = f" since {facts.since}" if facts.since else ""
    total = f": {plural(facts.findings, 'finding')}"
    if facts.new is None:
        total += f" in {plural(facts.clusters, 'cluster')}"
        if facts.status == Status.COMPLIANT:
            total = f": {plural(facts.backups, 'backup')} checked, {total[2:]}"
    # the scope's name may end the subject: never with punctuation that reads as cut
    name = _ascii(facts.who).rstrip(" .,:;-") or "?"
    what = f"{' -' if core else ''} CloudHSM backups {name}"
    in_order = [status, weekly, errors, core, since, info, what, total]
    importance = (0, 2, 3, 1, 6, 7, 5, 4)  # status, errors, core, weekly, what, total, ...
    kept: set[int] = set()
    for index in importance:
        if sum(len(in_order[n]) for n in kept | {index}) <= DIGEST_SUBJECT_MAX:
            kept.add(index)
    return _ascii("".join(part for n, part in enumerate(in_order) if n in kept))


def subject_line(report: Report, new: list[Finding] | None = None, *, weekly: bool = False) -> str:
    """One ASCII line of at most DIGEST_SUBJECT_MAX characters: status, new, resolved first."""
    counts = news(report, split_new(report)[0] if new is None else new)
    changes = report.changes
    baseline = changes.baseline_generated_at if changes is not None else None
    findings = report.findings
    return compose_subject(
        SubjectFacts(
            status=str(report.status),
            who=who(report),
            findings=len(findings),
            clusters=len({(f.account_id, f.region, f.cluster_id) for f in findings}),
            backups=report.backups_scanned,
            errors=len(report.errors),
            weekly=weekly,
            new=len(counts.new) if counts is not None else None,
            resolved=counts.resolved if counts is not None else 0,
            info=counts.info if counts is not None else 0,
            since=f"{baseline:%Y-%m-%d}" if baseline is not None else None,
        )
    )

"""The email digest: one SNS message per run, rendered from a Report. Pure: no AWS here.

Subject: one ASCII line under 100 characters (digest_subject.py). Body, in reading order:
the verdict (status, what changed by severity with INFO apart, what is open), then NEW,
RESOLVED (with why) and NOT CHECKED, the findings per rule (open, new, resolved), scan
errors, everything STILL OPEN, the per-region (and per-account) tables, and a footer with
the run id, the report's location and the baseline. Each list is per rule, then cluster
(digest_blocks.py). The body stays under a byte budget whatever the fleet; past it, it
says how many findings are left out and where the complete JSON report is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from ..constants import (
    ATTRIBUTE_FINDINGS,
    ATTRIBUTE_NEW_FINDINGS,
    ATTRIBUTE_NEW_SEVERITY,
    ATTRIBUTE_RESOLVED_FINDINGS,
    ATTRIBUTE_SEVERITY,
    ATTRIBUTE_STATUS,
    DIGEST_READABLE_BYTES,
    RULE_SEVERITY,
    Rule,
)
from .audit import Report
from .changes import CLUSTER_DELETED, to_archive
from .digest_blocks import finding_block, resolved_block
from .digest_lines import error_lines, footer, rule_table, table, verdict
from .digest_sections import (
    Entry,
    Located,
    Render,
    Section,
    by_rule,
    clean,
    entries,
    evidence_lines,
    fit,
    plural,
    size_of,
)
from .digest_subject import split_new, subject_line
from .model import Finding
from .rules import on_deleted_cluster
from .security_hub_outcome import SecurityHubOutcome, security_hub_lines

TAIL_RESERVE_BYTES = 1024  # the closing "N more findings" paragraph
NO_SEVERITY = "NONE"


@dataclass(frozen=True)
class Digest:
    subject: str
    body: str
    attributes: dict[str, dict[str, str]]  # SNS MessageAttributes
    findings_shown: int
    findings_omitted: int


def _number(value: int) -> dict[str, str]:
    """A Number attribute, so SNS numeric filter policies ({"numeric": [">", 0]}) match."""
    return {"DataType": "Number", "StringValue": str(value)}


def message_attributes(
    report: Report, new: list[Finding] | None = None
) -> dict[str, dict[str, str]]:
    highest = report.highest_severity
    attributes = {
        ATTRIBUTE_STATUS: {"DataType": "String", "StringValue": str(report.status)},
        ATTRIBUTE_FINDINGS: _number(len(report.findings)),
        ATTRIBUTE_SEVERITY: {
            "DataType": "String",
            "StringValue": highest.name if highest is not None else NO_SEVERITY,
        },
    }
    changes = report.changes
    if changes is not None:
        if changes.baseline_generated_at is None:  # every finding is new
            new_highest = highest if changes.new else None
        else:
            new = split_new(report)[0] if new is None else new
            new_highest = max((f.severity for f in new), default=None)
        attributes |= {
            ATTRIBUTE_NEW_FINDINGS: _number(len(changes.new)),
            ATTRIBUTE_RESOLVED_FINDINGS: _number(len(to_archive(changes))),
            ATTRIBUTE_NEW_SEVERITY: {
                "DataType": "String",
                "StringValue": new_highest.name if new_highest is not None else NO_SEVERITY,
            },
        }
    return attributes


def _without_deleted_clusters(report: Report, findings: list[Finding]) -> list[Finding]:
    """Findings whose cluster a resolved finding says is deleted read as such (a copy each:
    the report itself is not changed), so no fix names that cluster."""
    changes = report.changes
    gone = {
        (r.account_id, r.region, r.cluster_id)
        for r in (changes.resolved if changes else ())
        if r.reason == CLUSTER_DELETED
    }
    if not gone:
        return findings
    out = []
    for finding in findings:
        key = (finding.account_id, finding.cluster_region, finding.cluster_id)
        if key in gone and not finding.cluster_deleted and finding.backup_id and not finding.shared:
            finding = dataclasses.replace(finding)
            on_deleted_cluster(finding)
        out.append(finding)
    return out


def _add(
    sections: list[Section],
    kind: str,
    title: list[str],
    findings: Sequence[Located],
    render: Render,
    more: str,
) -> None:
    """One section per rule (so each gets its fair share); the first carries the title."""
    for number, (rule, items) in enumerate(by_rule(findings).items()):
        heading = title if number == 0 else []
        if kind == "open":
            severity = RULE_SEVERITY[Rule(rule)].name
            heading = [*heading, "", f"[{severity}] {rule}: {plural(len(items), 'finding')}"]
        sections.append(Section(heading, entries(items), render, f"{rule} {more}", kind))


def _sections(
    report: Report, new: list[Finding], still_open: list[Finding], report_url: str | None
) -> list[Section]:
    changes = report.changes
    compared = changes is not None and changes.baseline_generated_at is not None
    sections: list[Section] = []
    if new:
        render = partial(_labelled, label="NEW ", report_url=report_url)
        _add(sections, "new", ["", f"NEW ({len(new):,})"], new, render, "new findings")
    fixed = to_archive(changes)
    if compared and fixed:
        title = ["", f"RESOLVED ({len(fixed):,})"]
        render = partial(_resolved, label="RESOLVED ")
        _add(sections, "resolved", title, fixed, render, "resolved findings")
    dropped = [r for r in changes.resolved if not r.fixed] if changes is not None else []
    if compared and dropped:
        title = [
            "",
            f"NO LONGER AUDITED ({len(dropped):,}): the policy stopped their rule or listing; "
            "they are not fixed, and Security Hub keeps them as they were",
        ]
        render = partial(_resolved, label="NO LONGER AUDITED ", with_reason=False)
        _add(sections, "not_checked", title, dropped, render, "findings")
    if compared and changes is not None and changes.not_checked:
        title = [
            "",
            f"NOT CHECKED THIS RUN ({len(changes.not_checked):,}): where they are could not be "
            "read this run, so they are neither resolved nor new",
        ]
        render = partial(_resolved, label="NOT CHECKED ", with_reason=False)
        _add(sections, "not_checked", title, changes.not_checked, render, "findings")
    if still_open:
        title = ["", f"{'STILL OPEN' if compared else 'FINDINGS'} ({len(still_open):,})"]
        render = partial(_labelled, label="- ", report_url=report_url)
        _add(sections, "open", title, still_open, render, "findings")
    return sections


def _labelled(entry: Entry, *, label: str, report_url: str | None) -> list[str]:
    return finding_block(
        entry, label + (f"[{entry[0].severity.name}] " if label == "NEW " else ""), report_url
    )


def _resolved(entry: Entry, *, label: str, with_reason: bool = True) -> list[str]:
    return resolved_block(entry, label, with_reason)


def render_digest(
    report: Report,
    *,
    run_id: str,
    report_url: str | None = None,
    report_problem: str | None = None,
    baseline_problem: str | None = None,
    security_hub: SecurityHubOutcome | None = None,
    weekly: bool = False,
    budget: int = DIGEST_READABLE_BYTES,
    evidence: tuple[str, str] | None = None,
    auto_fix: Sequence[str] = (),
) -> Digest:
    """The digest of one run. `report_url` is where the full JSON report was stored;
    `report_problem` says why it could not be stored; `baseline_problem` why the run
    history could not be read; `security_hub` what the import into Security Hub did;
    `weekly`: this is the weekly digest (NOTIFY=changes on WEEKLY_DIGEST_DAY);
    `auto_fix` the lines saying what the automatic fixes changed."""
    if report_url:
        report_line = clean(report_url, 1100)
    elif report_problem:
        report_line = f"COULD NOT BE STORED: {clean(report_problem, 300)}"
    else:
        report_line = "not kept (set REPORT_BUCKET to keep the full JSON report of every run)"
    new, still_open = split_new(report)
    shown_new = _without_deleted_clusters(report, new)
    shown_open = _without_deleted_clusters(report, still_open)
    head = verdict(report, new, weekly=weekly)
    middle = rule_table(report, new) + error_lines(report) + security_hub_lines(security_hub)
    middle += list(auto_fix)
    tail = table(report, "region")
    if len(report.scope.accounts) > 1:
        tail += table(report, "account_id")
    tail += evidence_lines(evidence)
    tail += footer(report, run_id, report_line, baseline_problem)
    sections = _sections(report, shown_new, shown_open, report_url)
    fixed = size_of(head) + size_of(middle) + size_of(tail)
    fit(sections, budget - fixed - TAIL_RESERVE_BYTES - 64)

    lines = list(head)
    for section in sections:
        if section.kind != "open":  # NEW, RESOLVED and NOT CHECKED come first
            lines += section.lines()
    lines += middle
    for section in sections:
        if section.kind == "open":
            lines += section.lines()
    shown = sum(s.findings_shown for s in sections if s.kind in ("new", "open"))
    omitted = len(report.findings) - shown
    if omitted:
        lines += [
            "",
            f"{omitted:,} more findings are not shown: this email is limited to "
            f"{budget // 1024} KB. The full report: {report_line}",
        ]
    lines += tail
    body = "\n".join(lines) + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > budget:  # cannot happen with the reserves above; never exceed anyway
        body = encoded[:budget].decode("utf-8", "ignore")
    return Digest(
        subject=subject_line(report, new, weekly=weekly),
        body=body,
        attributes=message_attributes(report, new),
        findings_shown=shown,
        findings_omitted=omitted,
    )


__all__ = ["Digest", "message_attributes", "render_digest", "split_new", "subject_line"]

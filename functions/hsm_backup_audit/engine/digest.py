"""The email digest: one SNS message per run, rendered from a Report. Pure: no AWS here.

Subject: one ASCII line of at most 100 characters: the status, what changed since the
baseline, the counts. Body, in reading order: the verdict (status, `N new, M resolved
since <date>`, counts), the run's metadata, findings per rule, then NEW findings, the
RESOLVED ones (one line each), scan errors, everything STILL OPEN, and the per-region
(and per-account) tables. Rows of zeros are left out. Many findings of one rule in one
cluster are one entry. The body stays under a byte budget whatever the fleet; past it,
it says how many findings are left out and where the complete JSON report is. Every
value an account member controls is bounded again here, one value to a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..constants import (
    ATTRIBUTE_FINDINGS,
    ATTRIBUTE_NEW_FINDINGS,
    ATTRIBUTE_NEW_SEVERITY,
    ATTRIBUTE_RESOLVED_FINDINGS,
    ATTRIBUTE_SEVERITY,
    ATTRIBUTE_STATUS,
    DIGEST_READABLE_BYTES,
    DIGEST_SUBJECT_MAX,
    RULE_SEVERITY,
    RULES_IN_REPORT_ORDER,
    Status,
)
from .audit import Report
from .digest_sections import Entry, Section, clean, entries, examples, fit, plural, size_of, where
from .model import Finding
from .report import grouped, iso
from .security_hub_outcome import SecurityHubOutcome, security_hub_lines

ERRORS_SHOWN = 100
TAIL_RESERVE_BYTES = 1024  # the closing "N more findings" paragraph
NO_SEVERITY = "NONE"
NO_FINDINGS = "No findings: every backup meets the policy."


@dataclass(frozen=True)
class Digest:
    subject: str
    body: str
    attributes: dict[str, dict[str, str]]  # SNS MessageAttributes
    findings_shown: int
    findings_omitted: int


def _who(report: Report) -> str:
    accounts = report.scope.accounts
    return f"{len(accounts)} accounts" if len(accounts) > 1 else clean(report.scope.account_id, 20)


def _delta(report: Report, *, day_only: bool) -> str | None:
    """`N new, M resolved since <date>`, or None without a baseline."""
    changes = report.changes
    if changes is None or changes.baseline_generated_at is None:
        return None
    since = changes.baseline_generated_at
    when = f"{since:%Y-%m-%d}" if day_only else iso(since)
    return f"{len(changes.new):,} new, {len(changes.resolved):,} resolved since {when}"


def subject_line(report: Report) -> str:
    """One ASCII line, at most DIGEST_SUBJECT_MAX characters."""
    findings = report.findings
    delta = _delta(report, day_only=True)
    if delta is None:
        clusters = len({(f.account_id, f.region, f.cluster_id) for f in findings})
        counts = f"{plural(len(findings), 'finding')} in {plural(clusters, 'cluster')}"
    else:
        counts = f"{delta}; {plural(len(findings), 'finding')}"
    who = _who(report)
    if report.status == Status.INCOMPLETE:
        text = (
            f"[INCOMPLETE] CloudHSM backup audit incomplete, {who}: "
            f"{plural(len(report.errors), 'scan error')}, {counts}"
        )
    elif report.status == Status.NON_COMPLIANT:
        text = f"[NON_COMPLIANT] CloudHSM backups {who}: {counts}"
    elif delta is not None and report.changes and report.changes.resolved:
        text = f"[COMPLIANT] CloudHSM backups {who}: all clear, {delta}"
    else:
        text = (
            f"[COMPLIANT] CloudHSM backups {who}: "
            f"{plural(report.backups_scanned, 'backup')} checked, {counts}"
        )
    ascii_only = clean(text, 1000).encode("ascii", "replace").decode("ascii")
    return clean(ascii_only, DIGEST_SUBJECT_MAX)


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


def message_attributes(
    report: Report, new: list[Finding] | None = None
) -> dict[str, dict[str, str]]:
    highest = report.highest_severity
    attributes = {
        ATTRIBUTE_STATUS: {"DataType": "String", "StringValue": str(report.status)},
        ATTRIBUTE_FINDINGS: {"DataType": "Number", "StringValue": str(len(report.findings))},
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
            ATTRIBUTE_NEW_FINDINGS: {"DataType": "String", "StringValue": str(len(changes.new))},
            ATTRIBUTE_RESOLVED_FINDINGS: {
                "DataType": "String",
                "StringValue": str(len(changes.resolved)),
            },
            ATTRIBUTE_NEW_SEVERITY: {
                "DataType": "String",
                "StringValue": new_highest.name if new_highest is not None else NO_SEVERITY,
            },
        }
    return attributes


def _verdict(report: Report) -> list[str]:
    lines = [f"CloudHSM backup audit: {report.status}"]
    changes = report.changes
    delta = _delta(report, day_only=False)
    if delta is not None and changes is not None:
        lines.append(f"{delta}; {changes.unchanged:,} unchanged.")
    elif changes is not None:
        lines.append("First run for this scope: no earlier complete report to compare with.")
    if report.status == Status.INCOMPLETE:
        lines.append(
            "The audit is INCOMPLETE: it could not see everything (see ERRORS below). "
            "What it did see is reported; nothing it could not see counts as resolved."
        )
    elif report.status == Status.COMPLIANT:
        if changes is not None and changes.resolved:
            lines.append(f"All clear: {plural(len(changes.resolved), 'finding')} resolved.")
        lines.append(NO_FINDINGS)
    lines += [
        "",
        f"Backups scanned: {report.backups_scanned:,}   "
        f"Non-compliant backups: {report.backups_noncompliant:,}   "
        f"Findings: {len(report.findings):,}   Scan errors: {len(report.errors):,}",
    ]
    return lines


def _metadata(
    report: Report, run_id: str, report_line: str, baseline_line: str | None
) -> list[str]:
    scope = report.scope
    accounts = ", ".join(clean(a, 20) for a in scope.accounts) or clean(scope.account_id, 20)
    label = "Accounts:" if len(scope.accounts) > 1 else "Account:"
    lines = [
        "",
        f"{label:<11}{clean(accounts, 2000)}",
        f"{'Regions:':<11}{clean(', '.join(scope.regions), 1000)}",
        f"{'Time:':<11}{iso(report.generated_at)} (scan took {report.duration_seconds:.1f} s)",
        f"{'Policy:':<11}{clean(scope.policy_source, 200)}",
        f"{'Run id:':<11}{clean(run_id, 100)}",
        f"{'Report:':<11}{report_line}",
    ]
    if baseline_line:
        lines.append(f"{'Baseline:':<11}{baseline_line}")
    by_rule = report.by_rule
    if by_rule:
        lines += ["", "Findings per rule", f"  {'rule':<22} {'severity':>10} {'findings':>10}"]
        lines += [
            f"  {rule:<22} {RULE_SEVERITY[rule].name:>10} {by_rule[rule]:>10,}"
            for rule in RULES_IN_REPORT_ORDER
            if by_rule.get(rule)
        ]
    return lines


def _table(report: Report, attribute: str) -> list[str]:
    """Backups scanned and findings per region or account; rows of zeros left out."""
    column = "account" if attribute == "account_id" else attribute
    rows = report.breakdown(attribute)
    kept = {name: row for name, row in rows.items() if row != (0, 0)}
    lines = ["", f"Per {column}", f"  {column:<22} {'backups':>10} {'findings':>10}"]
    lines += [
        f"  {clean(name, 40):<22} {scanned:>10,} {count:>10,}"
        for name, (scanned, count) in kept.items()
    ]
    if len(kept) < len(rows):
        lines.append(f"  ({plural(len(rows) - len(kept), column)} with no backups not shown)")
    return lines


def _finding_block(entry: Entry, label: str = "") -> list[str]:
    first: Finding = entry[0]
    shared = "  (shared)" if len(entry) == 1 and first.shared else ""
    lines = [f"  {label}{where(entry)}{shared}", *examples(entry)]
    lines += [
        f"    {clean(first.message, 300)}",
        f"    fix: {clean(first.remediation, 400)}",
    ]
    if first.tags and len(entry) == 1:
        tags = ", ".join(f"{clean(k, 64)}={clean(v, 64)}" for k, v in first.tags)
        lines.append(f"    tags: {clean(tags, 300)}")
    return lines


def _open_block(entry: Entry) -> list[str]:
    """An open finding: "- " first, so no id can make its line read as a NEW or RESOLVED one."""
    return _finding_block(entry, "- ")


def _new_block(entry: Entry) -> list[str]:
    first: Finding = entry[0]
    return _finding_block(entry, f"NEW [{first.severity.name}] {first.rule}  ")


def _resolved_block(entry: Entry) -> list[str]:
    first = entry[0]
    seen = f"{min(r.first_seen for r in entry):%Y-%m-%d}"
    line = f"  RESOLVED [{clean(first.severity, 8)}] {clean(first.rule, 40)}  {where(entry)}"
    return [f"{line}  (first seen {seen})"]


def _sections(report: Report, new: list[Finding], still_open: list[Finding]) -> list[Section]:
    changes = report.changes
    compared = changes is not None and changes.baseline_generated_at is not None
    sections = []
    if new:
        heading = ["", f"NEW ({len(new):,})"]
        sections.append(Section(heading, entries(new), _new_block, "new findings"))
    if compared and changes is not None and changes.resolved:
        order = {str(rule): n for n, rule in enumerate(RULES_IN_REPORT_ORDER)}
        gone = sorted(
            changes.resolved,
            key=lambda r: (order.get(r.rule, 99), r.account_id, r.region, r.cluster_id),
        )
        heading = ["", f"RESOLVED ({len(gone):,})"]
        sections.append(Section(heading, entries(gone), _resolved_block, "resolved findings"))
    for number, (rule, items) in enumerate(grouped(still_open).items()):
        heading = [f"[{RULE_SEVERITY[rule].name}] {rule}: {plural(len(items), 'finding')}"]
        if number == 0:
            title = "STILL OPEN" if compared else "FINDINGS"
            heading = ["", f"{title} ({len(still_open):,})", "", *heading]
        else:
            heading = ["", *heading]
        sections.append(Section(heading, entries(items), _open_block, f"{rule} findings"))
    return sections


def _error_lines(report: Report) -> list[str]:
    if not report.errors:
        return []
    lines = ["", f"ERRORS ({len(report.errors):,}): the audit could not see everything"]
    for error in report.errors[:ERRORS_SHOWN]:
        lines.append(
            f"  {clean(error.account_id, 20)} {clean(error.region, 30)} "
            f"{clean(error.call, 50)}: {clean(error.code, 64)}: {clean(error.message, 300)}"
        )
    if len(report.errors) > ERRORS_SHOWN:
        lines.append(f"  ... {len(report.errors) - ERRORS_SHOWN:,} more errors in the full report")
    return lines


def _baseline_line(report: Report, problem: str | None) -> str | None:
    if problem:
        return f"COULD NOT BE READ: {clean(problem, 300)}"
    changes = report.changes
    if changes is None or changes.baseline_generated_at is None:
        return None
    run = clean(changes.baseline_run_id, 100) if changes.baseline_run_id else "(no run id)"
    return f"{run} ({iso(changes.baseline_generated_at)})"


def render_digest(
    report: Report,
    *,
    run_id: str,
    report_url: str | None = None,
    report_problem: str | None = None,
    baseline_problem: str | None = None,
    security_hub: SecurityHubOutcome | None = None,
    budget: int = DIGEST_READABLE_BYTES,
    auto_fix: Sequence[str] = (),
) -> Digest:
    """The digest of one run. `report_url` is where the full JSON report was stored;
    `report_problem` says why it could not be stored; `baseline_problem` why the run
    history could not be read; `security_hub` what the import into Security Hub did;
    `auto_fix` the lines saying what the automatic fixes changed."""
    if report_url:
        report_line = clean(report_url, 1100)
    elif report_problem:
        report_line = f"COULD NOT BE STORED: {clean(report_problem, 300)}"
    else:
        report_line = "not kept (set REPORT_BUCKET to keep the full JSON report of every run)"
    head = _verdict(report) + _metadata(
        report, run_id, report_line, _baseline_line(report, baseline_problem)
    )
    errors = _error_lines(report) + security_hub_lines(security_hub) + list(auto_fix)
    tables = _table(report, "region")
    if len(report.scope.accounts) > 1:
        tables += _table(report, "account_id")
    new, still_open = split_new(report)
    sections = _sections(report, new, still_open)
    fixed = size_of(head) + size_of(errors) + size_of(tables)
    fit(sections, budget - fixed - TAIL_RESERVE_BYTES - 64)

    lines = list(head)
    for section in sections:
        if section.render is not _open_block:  # NEW and RESOLVED, then the errors
            lines += section.lines()
    lines += errors
    for section in sections:
        if section.render is _open_block:  # everything still open
            lines += section.lines()
    shown = sum(s.findings_shown for s in sections if s.render is not _resolved_block)
    omitted = len(report.findings) - shown
    lines += tables
    if omitted:
        lines += [
            "",
            f"{omitted:,} more findings are not shown: this email is limited to "
            f"{budget // 1024} KB. The full report: {report_line}",
        ]
    body = "\n".join(lines) + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > budget:  # cannot happen with the reserves above; never exceed anyway
        body = encoded[:budget].decode("utf-8", "ignore")
    return Digest(
        subject=subject_line(report),
        body=body,
        attributes=message_attributes(report, new),
        findings_shown=shown,
        findings_omitted=omitted,
    )

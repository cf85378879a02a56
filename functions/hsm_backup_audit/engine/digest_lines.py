"""The digest's fixed lines: the verdict on top, the per-rule table, the scan errors, the
per-region and per-account tables, and the footer (run id, report, baseline). Pure."""

from __future__ import annotations

from ..constants import RULE_SEVERITY, RULES_IN_REPORT_ORDER, Severity, Status
from .audit import Report
from .changes import to_archive
from .digest_sections import clean, plural
from .digest_subject import SEVERITIES_HIGH_FIRST, counted, news
from .model import Finding
from .report import iso

ERRORS_SHOWN = 100
NO_FINDINGS = "No findings: every backup meets the policy."
NOTHING_ABOVE_INFO = "Nothing above INFO: every backup meets the policy"


def verdict(report: Report, new: list[Finding], *, weekly: bool = False) -> list[str]:
    """Status, what changed (by severity, INFO apart), what is open: the first lines."""
    title = f"CloudHSM backup audit: {report.status}"
    lines = [f"{title} (weekly digest)" if weekly else title]
    changes = report.changes
    counts = news(report, new)
    if counts is not None and changes is not None and changes.baseline_generated_at:
        lines.append(
            f"Since {iso(changes.baseline_generated_at)}: "
            f"{len(counts.new):,} new ({counted(counts.by_severity_new, info=False)}), "
            f"{counts.resolved:,} resolved ({counted(counts.by_severity_resolved, info=False)}); "
            f"{changes.unchanged:,} unchanged."
        )
        if counts.info:
            lines.append(
                f"INFO apart: {counts.new_info:,} new, {counts.resolved_info:,} resolved "
                "(not counted as news above)."
            )
    elif changes is not None:
        lines.append("First run for this scope: no earlier complete report to compare with.")
    by_severity = {
        s.name: sum(1 for f in report.findings if f.severity == s) for s in SEVERITIES_HIGH_FIRST
    }
    lines.append(
        f"Open: {plural(len(report.findings), 'finding')} ({counted(by_severity)}); "
        f"{report.backups_noncompliant:,} of {report.backups_scanned:,} backups non-compliant; "
        f"{plural(len(report.errors), 'scan error')}."
    )
    if report.status == Status.INCOMPLETE:
        lines.append(
            "The audit is INCOMPLETE: it could not see everything (see ERRORS below). "
            "What it did see is reported; nothing it could not see counts as resolved."
        )
    elif report.status == Status.COMPLIANT:
        if counts is not None and counts.resolved:
            lines.append(f"All clear: {plural(counts.resolved, 'finding')} above INFO resolved.")
        info = sum(1 for f in report.findings if f.severity == Severity.INFO)
        lines.append(
            f"{NOTHING_ABOVE_INFO} ({plural(info, 'INFO finding')} below)." if info else NO_FINDINGS
        )
    return lines


def rule_table(report: Report, new: list[Finding]) -> list[str]:
    """Open, new and resolved per rule; rules with none of them left out."""
    changes = report.changes
    compared = changes is not None and changes.baseline_generated_at is not None
    open_ = report.by_rule
    added: dict[str, int] = {}
    for finding in new:
        added[finding.rule] = added.get(finding.rule, 0) + 1
    gone: dict[str, int] = {}
    for resolved in to_archive(changes) if compared else ():
        gone[resolved.rule] = gone.get(resolved.rule, 0) + 1
    rules = [r for r in RULES_IN_REPORT_ORDER if open_.get(r) or added.get(r) or gone.get(r)]
    if not rules:
        return []
    header = f"  {'rule':<22} {'severity':>10} {'open':>8}"
    if compared:
        header += f" {'new':>8} {'resolved':>9}"
    lines = ["", "Findings per rule", header]
    for rule in rules:
        line = f"  {rule:<22} {RULE_SEVERITY[rule].name:>10} {open_.get(rule, 0):>8,}"
        if compared:
            line += f" {added.get(rule, 0):>8,} {gone.get(rule, 0):>9,}"
        lines.append(line)
    return lines


def table(report: Report, attribute: str) -> list[str]:
    """Backups scanned and findings per region or account; rows of zeros left out, but
    only where every listing was read completely: a row of zeros says "nothing here"."""
    column = "account" if attribute == "account_id" else attribute
    rows = report.breakdown(attribute)
    unread = _not_read_names(report, attribute)
    kept = {name: row for name, row in rows.items() if row != (0, 0) or name in unread}
    lines = ["", f"Per {column}", f"  {column:<22} {'backups':>10} {'findings':>10}"]
    lines += [
        f"  {clean(name, 40):<22} {scanned:>10,} {count:>10,}"
        + ("  (not read completely)" if name in unread else "")
        for name, (scanned, count) in kept.items()
    ]
    if len(kept) < len(rows):
        lines.append(f"  ({plural(len(rows) - len(kept), column)} with no backups not shown)")
    return lines


def _not_read_names(report: Report, attribute: str) -> set[str]:
    """The regions (or accounts) with a cell in scope this run did not read completely."""
    if report.coverage is None:
        return set()
    if attribute == "region":
        return {cell.region for cell in report.coverage.not_read}
    return {cell.account_id for cell in report.coverage.not_read}


def error_lines(report: Report) -> list[str]:
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


def footer(
    report: Report, run_id: str, report_line: str, baseline_problem: str | None
) -> list[str]:
    scope = report.scope
    accounts = ", ".join(clean(a, 20) for a in scope.accounts) or clean(scope.account_id, 20)
    label = "Accounts:" if len(scope.accounts) > 1 else "Account:"
    lines = [
        "",
        "--",
        f"{label:<11}{clean(accounts, 2000)}",
        f"{'Regions:':<11}{clean(', '.join(scope.regions), 1000)}",
        f"{'Time:':<11}{iso(report.generated_at)} (scan took {report.duration_seconds:.1f} s)",
        f"{'Policy:':<11}{clean(scope.policy_source, 200)}",
        f"{'Run id:':<11}{clean(run_id, 100)}",
        f"{'Report:':<11}{report_line}",
    ]
    baseline = _baseline_line(report, baseline_problem)
    if baseline:
        lines.append(f"{'Baseline:':<11}{baseline}")
    return lines

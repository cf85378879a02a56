"""The email digest: one SNS message per run, rendered from a Report. Pure: no AWS here.

Subject: one ASCII line of at most 100 characters with the status and the key counts.
Body: plain text under a byte budget whatever the fleet; past it, the body says how many
findings are left out and where the complete JSON report is. Every value an account
member controls is bounded again here, one value to a line, so none can forge a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..constants import (
    ATTRIBUTE_FINDINGS,
    ATTRIBUTE_SEVERITY,
    ATTRIBUTE_STATUS,
    DIGEST_BODY_BUDGET_BYTES,
    DIGEST_SUBJECT_MAX,
    RULE_SEVERITY,
    RULES_IN_REPORT_ORDER,
    Rule,
    Status,
)
from .audit import Report
from .model import Finding, safe_text
from .report import grouped, iso

FAIR_SHARE = 5  # every rule with findings shows at least this many before any shows more
ERRORS_SHOWN = 100
GROUP_OVERHEAD_BYTES = 200  # a rule's heading and its "more not shown" line
TAIL_RESERVE_BYTES = 1024  # the closing "N more findings" paragraph
NO_SEVERITY = "NONE"


@dataclass(frozen=True)
class Digest:
    subject: str
    body: str
    attributes: dict[str, dict[str, str]]  # SNS MessageAttributes
    findings_shown: int
    findings_omitted: int


def _clean(value: Any, limit: int) -> str:
    return safe_text(value, limit)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _who(report: Report) -> str:
    accounts = report.scope.accounts
    if len(accounts) > 1:
        return f"{len(accounts)} accounts"
    return _clean(report.scope.account_id, 20)


def subject_line(report: Report) -> str:
    """One ASCII line, at most DIGEST_SUBJECT_MAX characters."""
    findings = report.findings
    clusters = len({(f.account_id, f.region, f.cluster_id) for f in findings})
    counts = f"{_plural(len(findings), 'finding')} in {_plural(clusters, 'cluster')}"
    who = _who(report)
    if report.status == Status.INCOMPLETE:
        text = (
            f"[INCOMPLETE] CloudHSM backup audit incomplete, {who}: "
            f"{_plural(len(report.errors), 'scan error')}, {counts}"
        )
    elif report.status == Status.NON_COMPLIANT:
        text = f"[NON_COMPLIANT] CloudHSM backups {who}: {counts}"
    else:
        text = (
            f"[COMPLIANT] CloudHSM backups {who}: "
            f"{_plural(report.backups_scanned, 'backup')} checked, {counts}"
        )
    ascii_only = _clean(text, 1000).encode("ascii", "replace").decode("ascii")
    return _clean(ascii_only, DIGEST_SUBJECT_MAX)


def message_attributes(report: Report) -> dict[str, dict[str, str]]:
    highest = report.highest_severity
    return {
        ATTRIBUTE_STATUS: {"DataType": "String", "StringValue": str(report.status)},
        ATTRIBUTE_FINDINGS: {"DataType": "Number", "StringValue": str(len(report.findings))},
        ATTRIBUTE_SEVERITY: {
            "DataType": "String",
            "StringValue": highest.name if highest is not None else NO_SEVERITY,
        },
    }


def _breakdown(report: Report, attribute: str) -> list[str]:
    """A table of backups scanned and findings per region or account, zeros included."""
    column = "account" if attribute == "account_id" else attribute
    lines = ["", f"Per {column}", f"  {column:<22} {'backups':>10} {'findings':>10}"]
    lines += [
        f"  {_clean(name, 40):<22} {scanned:>10,} {count:>10,}"
        for name, (scanned, count) in report.breakdown(attribute).items()
    ]
    return lines


def _head(report: Report, run_id: str, report_line: str) -> list[str]:
    scope = report.scope
    accounts = ", ".join(_clean(a, 20) for a in scope.accounts) or _clean(scope.account_id, 20)
    lines = [f"CloudHSM backup audit: {report.status}"]
    if report.status == Status.INCOMPLETE:
        lines.append(
            "The audit is INCOMPLETE: it could not see everything (see ERRORS below). "
            "What it did see is reported."
        )
    label = "Accounts:" if len(scope.accounts) > 1 else "Account:"
    lines += [
        "",
        f"{label:<11}{_clean(accounts, 2000)}",
        f"{'Regions:':<11}{_clean(', '.join(scope.regions), 1000)}",
        f"{'Time:':<11}{iso(report.generated_at)} (scan took {report.duration_seconds:.1f} s)",
        f"{'Policy:':<11}{_clean(scope.policy_source, 200)}",
        f"{'Run id:':<11}{_clean(run_id, 100)}",
        f"{'Report:':<11}{report_line}",
        "",
        f"Backups scanned: {report.backups_scanned:,}   "
        f"Non-compliant backups: {report.backups_noncompliant:,}   "
        f"Findings: {len(report.findings):,}   Scan errors: {len(report.errors):,}",
    ]
    by_rule = report.by_rule
    lines += ["", "Findings per rule", f"  {'rule':<22} {'severity':>10} {'findings':>10}"]
    lines += [
        f"  {rule:<22} {RULE_SEVERITY[rule].name:>10} {by_rule.get(rule, 0):>10,}"
        for rule in RULES_IN_REPORT_ORDER
    ]
    lines += _breakdown(report, "region")
    if len(scope.accounts) > 1:
        lines += _breakdown(report, "account_id")
    return lines


def finding_lines(finding: Finding) -> list[str]:
    """One finding, each member-controlled value bounded and on a line of its own kind."""
    cluster = _clean(finding.cluster_id, 80)
    what = _clean(finding.backup_id, 80) if finding.backup_id else f"cluster {cluster}"
    where = f"cluster {cluster}  " if finding.backup_id else ""
    shared = "  (shared)" if finding.shared else ""
    lines = [
        f"  {what}  {where}{_clean(finding.region, 30)}  {_clean(finding.account_id, 20)}{shared}",
        f"    {_clean(finding.message, 300)}",
        f"    fix: {_clean(finding.remediation, 400)}",
    ]
    if finding.tags:
        tags = ", ".join(f"{_clean(k, 64)}={_clean(v, 64)}" for k, v in finding.tags)
        lines.append(f"    tags: {_clean(tags, 300)}")
    return lines


def _error_lines(report: Report) -> list[str]:
    if not report.errors:
        return []
    lines = ["", f"ERRORS ({len(report.errors):,}): the audit could not see everything"]
    for error in report.errors[:ERRORS_SHOWN]:
        lines.append(
            f"  {_clean(error.account_id, 20)} {_clean(error.region, 30)} "
            f"{_clean(error.call, 50)}: {_clean(error.code, 64)}: {_clean(error.message, 300)}"
        )
    if len(report.errors) > ERRORS_SHOWN:
        lines.append(f"  ... {len(report.errors) - ERRORS_SHOWN:,} more errors in the full report")
    return lines


def _size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _choose(groups: dict[Rule, list[list[str]]], budget: int) -> dict[Rule, int]:
    """How many findings of each rule fit: a fair share of each first, then in order."""
    shown = dict.fromkeys(groups, 0)
    used = GROUP_OVERHEAD_BYTES * len(groups)
    for limit in (FAIR_SHARE, None):
        for rule, blocks in groups.items():
            stop = len(blocks) if limit is None else min(limit, len(blocks))
            while shown[rule] < stop:
                size = _size(blocks[shown[rule]])
                if used + size > budget:
                    return shown
                used += size
                shown[rule] += 1
    return shown


def render_digest(
    report: Report,
    *,
    run_id: str,
    report_url: str | None = None,
    report_problem: str | None = None,
    budget: int = DIGEST_BODY_BUDGET_BYTES,
) -> Digest:
    """The digest of one run. `report_url` is where the full JSON report was stored;
    `report_problem` says why it could not be stored."""
    if report_url:
        report_line = _clean(report_url, 1100)
    elif report_problem:
        report_line = f"COULD NOT BE STORED: {_clean(report_problem, 300)}"
    else:
        report_line = "not kept (set REPORT_BUCKET to keep the full JSON report of every run)"
    head = _head(report, run_id, report_line)
    errors = _error_lines(report)
    groups = {
        rule: [finding_lines(f) for f in items] for rule, items in grouped(report.findings).items()
    }
    room = budget - _size(head) - _size(errors) - TAIL_RESERVE_BYTES - 64
    shown = _choose(groups, room)

    lines = list(head)
    if groups:
        lines += ["", "FINDINGS"]
    for rule, blocks in groups.items():
        lines += ["", f"[{RULE_SEVERITY[rule].name}] {rule}: {_plural(len(blocks), 'finding')}"]
        for block in blocks[: shown[rule]]:
            lines += block
        if shown[rule] < len(blocks):
            lines.append(f"  ... {len(blocks) - shown[rule]:,} more {rule} findings not shown")
    total_shown = sum(shown.values())
    omitted = len(report.findings) - total_shown
    if omitted:
        where = (
            f"The full report: {_clean(report_url, 1100)}"
            if report_url
            else f"The full report: {report_line}"
        )
        lines += [
            "",
            f"{omitted:,} more findings are not shown: this email is limited to "
            f"{budget // 1024} KB. {where}",
        ]
    lines += errors
    if not groups and not report.errors:
        lines += ["", "No findings: every backup meets the policy."]
    body = "\n".join(lines) + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > budget:  # cannot happen with the reserves above; never exceed anyway
        body = encoded[:budget].decode("utf-8", "ignore")
    return Digest(
        subject=subject_line(report),
        body=body,
        attributes=message_attributes(report),
        findings_shown=total_shown,
        findings_omitted=omitted,
    )

"""The report's two faces: the stable JSON document (schema_version 1) and the text summary."""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from typing import Any

from ..constants import RULE_SEVERITY, RULES_IN_REPORT_ORDER, SCHEMA_VERSION, Rule
from .audit import Report
from .changes import Changes, ResolvedFinding
from .model import Finding, safe_text

WIDTH = 80
# Wrapped lines go deeper than any line that starts something (a heading at 0, a finding or
# an error at 2, its message at 4), so no value, however it is spaced, can forge one.
CONTINUATION = " " * 6


def iso(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def to_document(report: Report) -> dict[str, Any]:
    """The `--format json` document. Keys only ever get added within a schema version."""
    scope = report.scope
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "status": str(report.status),
        "generated_at": iso(report.generated_at),
        "scope": {
            "regions": list(scope.regions),
            "account_id": scope.account_id,
            "accounts": list(scope.accounts),
            "include_shared": scope.include_shared,
            "policy_source": scope.policy_source,
            "regions_not_enabled": {acct: list(names) for acct, names in scope.regions_not_enabled},
            "accounts_skipped": dict(scope.accounts_skipped),
        },
        "summary": {
            "backups_scanned": report.backups_scanned,
            "backups_noncompliant": report.backups_noncompliant,
            "findings": len(report.findings),
            "errors": len(report.errors),
            "by_rule": report.by_rule,
            "by_region": _breakdown(report, "region"),
            "by_account": _breakdown(report, "account_id"),
        },
        "findings": _findings(report),
        "errors": [e.to_dict() for e in report.errors],
    }
    if report.coverage is not None:
        document["coverage"] = report.coverage.to_dict()
    if report.run_id is not None:
        document["run_id"] = report.run_id
    if report.changes is not None:
        document["changes"] = changes_document(report.changes)
    return document


def _findings(report: Report) -> list[dict[str, Any]]:
    if report.changes is None:
        return [f.to_dict() for f in report.findings]
    first_seen = report.changes.first_seen
    default = iso(report.generated_at)
    out = []
    for finding in report.findings:
        entry = finding.to_dict()
        seen = first_seen.get(entry["id"])
        entry["first_seen"] = iso(seen) if seen is not None else default
        out.append(entry)
    return out


def changes_document(changes: Changes) -> dict[str, Any]:
    """The `changes` section: the baseline (or null), new ids, resolved, unchanged count."""
    baseline = None
    if changes.baseline_generated_at is not None:
        baseline = {
            "run_id": changes.baseline_run_id,
            "generated_at": iso(changes.baseline_generated_at),
        }
    return {
        "baseline": baseline,
        "new": list(changes.new),
        "resolved": [{**_left(r), "reason": r.reason} for r in changes.resolved],
        "not_checked": [_left(r) for r in changes.not_checked],
        "unchanged": changes.unchanged,
    }


def _left(r: ResolvedFinding) -> dict[str, Any]:
    return {
        "id": r.id,
        "rule": r.rule,
        "severity": r.severity,
        "account_id": r.account_id,
        "region": r.region,
        "cluster_id": r.cluster_id,
        "backup_id": r.backup_id,
        "first_seen": iso(r.first_seen),
        "message": r.message,
        "shared": r.shared,
    }


def _breakdown(report: Report, attribute: str) -> dict[str, dict[str, int]]:
    return {
        name: {"backups_scanned": scanned, "findings": findings}
        for name, (scanned, findings) in report.breakdown(attribute).items()
    }


def to_json(report: Report) -> str:
    return json.dumps(to_document(report), indent=2, ensure_ascii=False)


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=CONTINUATION, break_on_hyphens=False
    )


def _value(value: Any) -> str:
    """One value as a clean line; quoted when it holds a space, so a reader sees where it ends."""
    text = safe_text(value)
    if not text or " " in text or text.startswith('"'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _prose(text: str) -> str:
    return safe_text(text, 2000)


def summary_lines(report: Report) -> list[str]:
    scope = report.scope
    accounts = ", ".join(_value(a) for a in scope.accounts) or _value(scope.account_id)
    regions = ", ".join(_value(r) for r in scope.regions)
    lines = [
        f"CloudHSM backup audit: {report.status}",
        *_wrap(f"Account {accounts}; regions {regions}", ""),
        *_wrap(
            f"Generated {iso(report.generated_at)}; policy: {_value(scope.policy_source)}; "
            f"shared backups {'included' if scope.include_shared else 'excluded'}",
            "",
        ),
        "",
        f"Backups scanned: {report.backups_scanned}   "
        f"Non-compliant backups: {report.backups_noncompliant}   "
        f"Findings: {len(report.findings)}   Errors: {len(report.errors)}",
    ]
    return lines


def _listing(listing: str | None) -> str:
    """ " (shared)" after DescribeBackups: which listing failed (one of our own words)."""
    return f" ({listing})" if listing else ""


def error_lines(report: Report) -> list[str]:
    if not report.errors:
        return []
    lines = ["", f"ERRORS ({len(report.errors)}): the audit could not see everything", ""]
    for error in report.errors:
        lines.extend(
            _wrap(
                f"{_value(error.account_id)} {_value(error.region)} "
                f"{_value(error.operation)}{_listing(error.listing)}: "
                f"{_value(error.code)}: {_prose(error.message)}",
                "  ",
            )
        )
    return lines


def finding_lines(finding: Finding) -> list[str]:
    """The backup (or cluster) at 2 spaces, its message and its fix at 4, wrapped deeper."""
    cluster = f"cluster {_value(finding.cluster_id)}"
    subject = _value(finding.backup_id) if finding.backup_id else cluster
    where = f"{_value(finding.region)}  {_value(finding.account_id)}"
    if finding.backup_id:
        where = f"{cluster}  {where}"
    if finding.shared:
        where += "  (shared)"
    lines = _wrap(f"{subject}  {where}", "  ")
    lines += _wrap(_prose(finding.message), "    ")
    lines += _wrap(f"fix: {_prose(finding.remediation)}", "    ")
    return lines


def grouped(findings: list[Finding]) -> dict[Rule, list[Finding]]:
    groups: dict[Rule, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.rule].append(finding)
    return {rule: groups[rule] for rule in RULES_IN_REPORT_ORDER if rule in groups}


def changes_lines(report: Report) -> list[str]:
    """The text report's changes section (only when the run was compared with a baseline)."""
    changes = report.changes
    if changes is None:
        return []
    if changes.baseline_generated_at is None:
        return ["", "Changes: no baseline to compare with (every finding is new)"]
    since = iso(changes.baseline_generated_at)
    fixed = [gone for gone in changes.resolved if gone.fixed]
    dropped = [gone for gone in changes.resolved if not gone.fixed]
    counts = f"{len(changes.new)} new, {len(fixed)} resolved, {changes.unchanged} unchanged"
    if dropped:
        counts += f", {len(dropped)} no longer audited"
    if changes.not_checked:
        counts += f", {len(changes.not_checked)} not checked this run"
    lines = ["", f"Changes since {since}: {counts}"]
    new = set(changes.new)
    for finding in report.findings:
        if finding.id in new:
            lines += _change_line("NEW", finding.rule, finding)
    for gone in fixed:
        lines += _change_line("RESOLVED", gone.rule, gone, f" ({gone.reason})")
    for gone in dropped:
        lines += _change_line("NO LONGER AUDITED", gone.rule, gone)
    for gone in changes.not_checked:
        lines += _change_line("NOT CHECKED THIS RUN", gone.rule, gone)
    return lines


def _change_line(
    label: str, rule: str, item: Finding | ResolvedFinding, why: str = ""
) -> list[str]:
    where = _value(item.backup_id) if item.backup_id else f"cluster {_value(item.cluster_id)}"
    text = f"{label} {rule} {where} {_value(item.region)} {_value(item.account_id)}{why}"
    return _wrap(text, "  ")


def to_text(report: Report) -> str:
    lines = summary_lines(report)
    lines += changes_lines(report)
    groups = grouped(report.findings)
    if groups:
        lines += ["", "Findings by rule:"]
        lines += [
            f"  {rule:<18} {RULE_SEVERITY[rule].name:<7} {len(items):>6}"
            for rule, items in groups.items()
        ]
    for rule, items in groups.items():
        lines += ["", f"[{RULE_SEVERITY[rule].name}] {rule} ({len(items)})"]
        for finding in items:
            lines += finding_lines(finding)
    lines += error_lines(report)
    if not groups and not report.errors:
        lines += ["", "No findings: every backup meets the policy."]
    return "\n".join(lines) + "\n"

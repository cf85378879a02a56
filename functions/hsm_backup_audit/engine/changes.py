"""What changed since the baseline: the new, resolved and unchanged findings. Pure: no AWS.

The baseline is the JSON document of an earlier report (schema_version 1). Findings are
matched by their stable id (`Finding.id`); a baseline whose findings carry no `id` (a
report written before ids existed) is no baseline at all.

What a run could not see is never resolved: a baseline finding counts as resolved only
when its account was audited, its region was in scope and no error entry names that
account in that region (or the account as a whole). An error entry whose account is
unknown means the run cannot say what it missed, so such a run resolves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..constants import Severity
from .audit import Report
from .model import FINDING_ID_PATTERN, as_utc, safe_text

_FINDING_ID = re.compile(FINDING_ID_PATTERN)
UNKNOWN_ACCOUNT = "unknown"
WHOLE_ACCOUNT = "global"  # the region of an account-wide error (AssumeRole, identity)


@dataclass(frozen=True)
class ResolvedFinding:
    id: str
    rule: str
    severity: str
    account_id: str
    region: str
    cluster_id: str
    backup_id: str | None
    first_seen: datetime
    message: str
    # Why it is gone: "fixed", "backup deleted", "cluster deleted", "exemption added" or
    # "no longer audited".
    reason: str = "fixed"


@dataclass(frozen=True)
class Changes:
    baseline_run_id: str | None
    baseline_generated_at: datetime | None
    new: tuple[str, ...]  # finding ids, in report order
    resolved: tuple[ResolvedFinding, ...]
    unchanged: int
    first_seen: Mapping[str, datetime]  # finding id -> when first seen, every finding of the run
    # Baseline findings in places this run did not read: neither resolved nor new.
    not_checked: tuple[ResolvedFinding, ...] = ()

    @property
    def has_baseline(self) -> bool:
        return self.baseline_generated_at is not None


def usable_baseline(baseline: Mapping[str, Any] | None) -> bool:
    """A schema v1 document with a time and findings that all carry an id of the recipe
    (a forged id is never cleaned into a live one: the baseline is then unusable)."""
    if not isinstance(baseline, Mapping):
        return False
    version = baseline.get("schema_version")
    if type(version) is not int or version != 1:  # `true` is not 1
        return False
    findings = baseline.get("findings")
    if as_utc(baseline.get("generated_at")) is None or not isinstance(findings, list):
        return False
    return all(
        isinstance(f, dict) and isinstance(f.get("id"), str) and _FINDING_ID.fullmatch(f["id"])
        for f in findings
    )


def blind_spots(report: Report) -> tuple[set[tuple[str, str]], set[str], bool]:
    """(account-region pairs with an error, accounts with an account-wide error, blind)."""
    pairs: set[tuple[str, str]] = set()
    accounts: set[str] = set()
    blind = False
    for error in report.errors:
        if error.account_id == UNKNOWN_ACCOUNT:
            blind = True
        elif error.region == WHOLE_ACCOUNT:
            accounts.add(error.account_id)
        else:
            pairs.add((error.account_id, error.region))
    return pairs, accounts, blind


def _seer(report: Report) -> Any:
    """A predicate: did this run see (account, region) completely?"""
    pairs, failed_accounts, blind = blind_spots(report)
    audited = set(report.scope.accounts) - failed_accounts
    regions = set(report.scope.regions)

    def saw(account_id: Any, region: Any) -> bool:
        return (
            not blind
            and account_id in audited
            and region in regions
            and (account_id, region) not in pairs
        )

    return saw


def _resolved(entry: Mapping[str, Any], first_seen: datetime) -> ResolvedFinding:
    backup_id = entry.get("backup_id")
    return ResolvedFinding(
        id=str(entry["id"]),
        rule=safe_text(entry.get("rule"), 64),
        severity=safe_text(entry.get("severity"), 16),
        account_id=safe_text(entry.get("account_id"), 64),
        region=safe_text(entry.get("region"), 64),
        cluster_id=safe_text(entry.get("cluster_id")),
        backup_id=safe_text(backup_id) if backup_id is not None else None,
        first_seen=first_seen,
        message=safe_text(entry.get("message"), 300),
    )


def compute_changes(report: Report, baseline: Mapping[str, Any] | None) -> Changes:
    """This run against the baseline document (None, or unusable: every finding is new)."""
    now = report.generated_at
    ids = [f.id for f in report.findings]
    if baseline is None or not usable_baseline(baseline):
        return Changes(None, None, tuple(dict.fromkeys(ids)), (), 0, dict.fromkeys(ids, now))
    baseline_time = as_utc(baseline["generated_at"]) or now
    before: dict[str, Mapping[str, Any]] = {f["id"]: f for f in baseline["findings"]}
    times: dict[Any, datetime] = {}  # most findings share a few first_seen values

    def seen(entry: Mapping[str, Any]) -> datetime:
        text = entry.get("first_seen")
        moment = times.get(text)
        if moment is None:
            moment = times[text] = as_utc(text) or baseline_time
        return moment

    first_seen: dict[str, datetime] = {}
    new: list[str] = []
    for finding_id in ids:
        if finding_id in first_seen:
            continue
        earlier = before.get(finding_id)
        if earlier is None:
            new.append(finding_id)
            first_seen[finding_id] = now
        else:
            first_seen[finding_id] = seen(earlier)

    saw = _seer(report)
    resolved = tuple(
        _resolved(entry, seen(entry))
        for finding_id, entry in before.items()
        if finding_id not in first_seen and saw(entry.get("account_id"), entry.get("region"))
    )
    run_id = baseline.get("run_id")
    return Changes(
        baseline_run_id=safe_text(run_id, 100) if isinstance(run_id, str) else None,
        baseline_generated_at=baseline_time,
        new=tuple(new),
        resolved=resolved,
        unchanged=len(first_seen) - len(new),
        first_seen=first_seen,
    )


def new_above_info(report: Report) -> int:
    """How many of this run's new findings are above INFO (what `--fail-on new` counts)."""
    changes = report.changes
    if changes is None:
        return 0
    new = set(changes.new)
    return sum(1 for f in report.findings if f.id in new and f.severity > Severity.INFO)

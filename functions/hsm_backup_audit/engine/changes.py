"""What changed since the baseline: the new, resolved and unchanged findings. Pure: no AWS.

The baseline is the JSON document of an earlier report (schema_version 1). Findings are
matched by their stable id (`Finding.id`); a baseline whose findings carry no `id` (a
report written before ids existed) is no baseline at all.

What a run did not read is never resolved: a baseline finding this run did not find is
resolved only when the cells that decide it (engine/coverage.py) were read completely, under
a policy that still applies its rule. Otherwise it is "not checked this run" (neither
resolved nor new). A policy that stopped its rule or listing (`include_shared: false`,
`allow_never_expires: true`) makes it "no longer audited": listed with the resolved ones
under that reason, never archived as fixed.

Not checked is carried forward: the baseline's own `changes.not_checked` entries are read as
part of the baseline, so a finding not checked for several runs keeps its `first_seen` and
is neither new nor resolved until a run reads its cell again. It is bounded: a carried entry
whose account is no longer in the run's scope at all is "no longer audited", not carried on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..constants import Rule, Severity
from .audit import Report
from .coverage import CLUSTERS, LISTINGS, UNKNOWN_ACCOUNT, backup_mark, derive, scope_accounts
from .model import FINDING_ID_PATTERN, as_utc, safe_text
from .policy import Policy

# Why a baseline finding left (ResolvedFinding.reason).
FIXED = "fixed"  # its backup or cluster is still listed; the rule no longer finds it
BACKUP_DELETED = "backup deleted"  # its backup is no longer listed in a cell read completely
CLUSTER_DELETED = "cluster deleted"  # its cluster is no longer listed in a clusters cell read
EXEMPTION_ADDED = "exemption added"  # the policy now exempts it
NO_LONGER_AUDITED = "no longer audited"  # the policy stopped its rule or listing: not fixed
RULES = frozenset(str(rule) for rule in Rule)

_FINDING_ID = re.compile(FINDING_ID_PATTERN)


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
    reason: str = FIXED  # why it left; not_checked entries keep "fixed" (never shown)
    shared: bool = False  # a shared backup's finding: decided by the shared listing

    @property
    def fixed(self) -> bool:
        """Resolved because it is gone from what this run read, under a policy that still
        applies its rule: archived in Security Hub. "no longer audited" is not."""
        return self.reason != NO_LONGER_AUDITED


@dataclass(frozen=True)
class Changes:
    baseline_run_id: str | None
    baseline_generated_at: datetime | None
    new: tuple[str, ...]  # finding ids, in report order
    resolved: tuple[ResolvedFinding, ...]
    unchanged: int
    first_seen: Mapping[str, datetime]  # finding id -> when first seen, every finding of the run
    # Baseline findings in cells this run did not read completely: neither resolved nor new.
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


def stopped_by_policy(
    fields: Mapping[str, Any], policy: Policy | None, include_shared: bool
) -> bool:
    """The policy stopped this finding's rule or listing, so it is "no longer audited", not
    fixed: shared backups no longer read, or never-expiring backups now allowed. Decides
    for "what changed" and for Security Hub's reconciliation alike."""
    if fields.get("shared") is True and not (
        include_shared and (policy is None or policy.include_shared)
    ):
        return True
    return (
        fields.get("rule") == Rule.NEVER_EXPIRES
        and policy is not None
        and bool(policy.allow_never_expires)
    )


def _judge(report: Report, policy: Policy | None) -> Callable[[Mapping[str, Any]], str | None]:
    """For a baseline finding this run did not find: why it left (a resolved reason), or
    None when this run did not read its cell completely (not checked this run)."""
    coverage = report.coverage
    if coverage is None:  # a report built by hand: its scope, less every error entry's
        scope = report.scope
        blind = any(e.account_id == UNKNOWN_ACCOUNT for e in report.errors)
        coverage, _ = derive(
            scope_accounts(scope.accounts, report.errors),
            scope.regions,
            scope.include_shared,
            []
            if blind
            else [(a, r, k) for a in scope.accounts for r in scope.regions for k in LISTINGS],
            report.errors,
            dict(report.scope.regions_not_enabled),
        )
    today = report.generated_at.date()
    exemptions = policy.exemptions if policy is not None else ()
    listed_backups: list[set[int]] = []

    def why(entry: Mapping[str, Any]) -> str | None:
        rule = entry.get("rule")
        if stopped_by_policy(entry, policy, report.scope.include_shared):
            return NO_LONGER_AUDITED
        if not coverage.decides(entry):
            return None
        backup_id, cluster_id = entry.get("backup_id"), entry.get("cluster_id")
        if rule in RULES and any(
            ex.expires >= today and ex.covers(Rule(rule), backup_id, cluster_id)
            for ex in exemptions
        ):
            return EXEMPTION_ADDED
        account_id, region = entry["account_id"], entry["region"]
        listed = coverage.clusters
        if (
            backup_id is None
            and listed is not None
            and coverage.read_completely(account_id, region, CLUSTERS)
            and (account_id, region, cluster_id) not in listed
        ):
            return CLUSTER_DELETED
        if isinstance(backup_id, str) and coverage.backups is not None:
            if not listed_backups:  # a set, built once, only when something resolved
                listed_backups.append(set(coverage.backups))
            if backup_mark(account_id, region, backup_id) not in listed_backups[0]:
                return BACKUP_DELETED
        return FIXED

    return why


def _carried(baseline: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The baseline's own not-checked findings (`changes.not_checked`), by id: those with an
    id of the recipe (engine/baseline.py refuses the others before they come here)."""
    changes = baseline.get("changes")
    entries = changes.get("not_checked") if isinstance(changes, Mapping) else None
    if not isinstance(entries, list):
        return {}
    return {
        entry["id"]: entry
        for entry in entries
        if isinstance(entry, Mapping)
        and isinstance(entry.get("id"), str)
        and _FINDING_ID.fullmatch(entry["id"])
    }


def _out_of_scope(report: Report) -> Callable[[Mapping[str, Any]], bool]:
    """Is a carried entry's account no longer in the run's scope at all? Never when the run
    could not tell which account it audited (an error entry for an unknown account)."""
    if any(error.account_id == UNKNOWN_ACCOUNT for error in report.errors):
        return lambda entry: False
    accounts = set(scope_accounts(report.scope.accounts, report.errors))
    return lambda entry: entry.get("account_id") not in accounts


def _resolved(
    entry: Mapping[str, Any], first_seen: datetime, reason: str = FIXED
) -> ResolvedFinding:
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
        reason=reason,
        shared=entry.get("shared") is True,
    )


def compute_changes(
    report: Report, baseline: Mapping[str, Any] | None, policy: Policy | None = None
) -> Changes:
    """This run against the baseline document (None, or unusable: every finding is new).
    `policy`: the policy this run applied (None: only the report's scope is known)."""
    now = report.generated_at
    ids = [f.id for f in report.findings]
    if baseline is None or not usable_baseline(baseline):
        return Changes(None, None, tuple(dict.fromkeys(ids)), (), 0, dict.fromkeys(ids, now))
    baseline_time = as_utc(baseline["generated_at"]) or now
    before: dict[str, Mapping[str, Any]] = {f["id"]: f for f in baseline["findings"]}
    carried = {key: entry for key, entry in _carried(baseline).items() if key not in before}
    before.update(carried)
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

    why = _judge(report, policy)
    out_of_scope = _out_of_scope(report)
    resolved: list[ResolvedFinding] = []
    not_checked: list[ResolvedFinding] = []
    for finding_id, entry in before.items():
        if finding_id in first_seen:
            continue
        if finding_id in carried and out_of_scope(entry):
            reason: str | None = NO_LONGER_AUDITED  # not carried forever
        else:
            reason = why(entry)
        if reason is None:
            not_checked.append(_resolved(entry, seen(entry)))
        else:
            resolved.append(_resolved(entry, seen(entry), reason))
    run_id = baseline.get("run_id")
    return Changes(
        baseline_run_id=safe_text(run_id, 100) if isinstance(run_id, str) else None,
        baseline_generated_at=baseline_time,
        new=tuple(new),
        resolved=tuple(resolved),
        unchanged=len(first_seen) - len(new),
        first_seen=first_seen,
        not_checked=tuple(not_checked),
    )


def to_archive(changes: Changes | None) -> tuple[ResolvedFinding, ...]:
    """What Security Hub archives: the findings resolved in cells this run read completely,
    under a policy that still applies their rule. Never `not_checked`, never "no longer
    audited" (those stay as Security Hub has them)."""
    if changes is None:
        return ()
    return tuple(gone for gone in changes.resolved if gone.fixed)


def new_above_info(report: Report) -> int:
    """How many of this run's new findings are above INFO (what `--fail-on new` counts)."""
    changes = report.changes
    if changes is None:
        return 0
    new = set(changes.new)
    return sum(1 for f in report.findings if f.id in new and f.severity > Severity.INFO)

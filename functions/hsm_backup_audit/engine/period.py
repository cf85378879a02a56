"""An audit period's figures from its reports: what an auditor asks. Pure: no AWS.

The reports are JSON documents (schema_version 1) with where they came from (`SourcedReport`).
A day's status is that of its last run; a day with no run is missed. Each finding (by its
stable id) has lifecycles: from first seen (the report's `first_seen` when it says, else the
first run that had it) to the run that resolved it, or still open at the last run. A finding
absent from a run is resolved there when that run's `changes.resolved` lists it (with its
`reason` when the report gives one), or when the run was complete (not INCOMPLETE) and its
scope held the finding's account and region; otherwise (a run that could not see it) it stays
open. Lifecycles and time to fix: period_findings.py.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..constants import Status
from .model import as_utc, safe_text
from .period_findings import FixTime, Lifecycle, fix_times, lifecycles

SEVERITIES = ("HIGH", "MEDIUM", "LOW", "INFO")
STATUSES = tuple(str(s) for s in Status)


class PeriodError(ValueError):
    """The reports cannot make a period (none in it, or a document that is no report)."""


@dataclass(frozen=True)
class SourcedReport:
    """One report and where it came from, so a reader can fetch it again and check it."""

    document: Mapping[str, Any]
    location: str  # s3://bucket/key, or a file path
    sha256: str  # of the bytes read
    version_id: str | None = None  # the S3 object version read
    policy: Mapping[str, Any] | None = None  # the policy in force, when the run history says


@dataclass(frozen=True)
class Run:
    at: datetime
    status: str
    run_id: str | None
    policy_source: str
    source: SourcedReport


@dataclass(frozen=True)
class Day:
    day: date
    status: str | None  # None: no run that day (missed)
    runs: int
    open_by_severity: Mapping[str, int] | None  # the day's last run's findings


@dataclass(frozen=True)
class PolicyUse:
    sha256: str | None  # of the policy's canonical JSON; None: the reports do not hold it
    source: str  # the reports' policy_source
    first_used: datetime
    last_used: datetime
    runs: int


@dataclass(frozen=True)
class ExemptionInForce:
    target: str  # "backup <id>" or "cluster <id>"
    rules: tuple[str, ...]
    reason: str
    expires: str
    policy_sha256: str


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    days: tuple[Day, ...]
    runs: tuple[Run, ...]
    lifecycles: tuple[Lifecycle, ...]
    fix_times: tuple[FixTime, ...]
    policies: tuple[PolicyUse, ...]
    exemptions: tuple[ExemptionInForce, ...]

    @property
    def missed(self) -> list[date]:
        return [d.day for d in self.days if d.status is None]

    @property
    def days_audited(self) -> int:
        return sum(1 for d in self.days if d.status is not None)

    def days_with(self, status: str) -> int:
        return sum(1 for d in self.days if d.status == status)

    @property
    def open_at_end(self) -> list[Lifecycle]:
        return [c for c in self.lifecycles if c.resolved_at is None]

    @property
    def open_over_30_days(self) -> list[Lifecycle]:
        return [c for c in self.open_at_end if c.days_open > 30]


def report_problem(document: Any) -> str | None:
    """Why a document is no report this page can use, in a few words; None when it is one."""
    if not isinstance(document, Mapping) or document.get("schema_version") != 1:
        return "not a hsm-backup-audit report (schema_version 1)"
    if as_utc(document.get("generated_at")) is None:
        return "no readable generated_at"
    if document.get("status") not in STATUSES:
        return "no status"
    findings = document.get("findings")
    if not isinstance(findings, list) or not all(isinstance(f, Mapping) for f in findings):
        return "no findings list"
    return None


FINDING_KEYS = ("id", "rule", "severity", "account_id", "region", "cluster_id", "backup_id")


def slim_report(document: Mapping[str, Any], strings: dict[str, str]) -> dict[str, Any]:
    """Only what a period reads of a report (checked by report_problem first), each string
    shared through `strings` with the same string of every other report: a finding's id,
    rule and place repeat in every daily report, and a year of them must fit in memory."""

    def keep(value: Any) -> Any:
        return strings.setdefault(value, value) if isinstance(value, str) else value

    scope = document.get("scope")
    scope = scope if isinstance(scope, Mapping) else {}
    slim: dict[str, Any] = {
        "schema_version": 1,
        "status": keep(document["status"]),
        "generated_at": document["generated_at"],
        "run_id": document.get("run_id"),
        "scope": {
            "accounts": [keep(a) for a in scope.get("accounts") or ()],
            "regions": [keep(r) for r in scope.get("regions") or ()],
            "policy_source": keep(scope.get("policy_source")),
        },
        "findings": [
            {key: keep(f[key]) for key in (*FINDING_KEYS, "first_seen") if key in f}
            for f in document["findings"]
        ],
    }
    changes = document.get("changes")
    if isinstance(changes, Mapping) and isinstance(changes.get("resolved"), list):
        slim["changes"] = {
            name: [
                {key: keep(r[key]) for key in ("id", "reason") if key in r}
                for r in changes[name]
                if isinstance(r, Mapping)
            ]
            for name in ("resolved", "not_checked")
            if isinstance(changes.get(name), list)
        }
    return slim


def policy_sha256(policy: Mapping[str, Any]) -> str:
    canonical = json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _run(report: SourcedReport) -> Run:
    doc = report.document
    at = as_utc(doc["generated_at"])
    assert at is not None  # checked by report_problem
    run_id = doc.get("run_id")
    scope = doc.get("scope")
    scope = scope if isinstance(scope, Mapping) else {}
    return Run(
        at=at,
        status=str(doc["status"]),
        run_id=safe_text(run_id, 100) if isinstance(run_id, str) else None,
        policy_source=safe_text(scope.get("policy_source"), 200),
        source=report,
    )


def _days(start: date, end: date, runs: Sequence[Run]) -> tuple[Day, ...]:
    by_day: dict[date, list[Run]] = {}
    for run in runs:
        by_day.setdefault(run.at.date(), []).append(run)
    days = []
    day = start
    while day <= end:
        todays = by_day.get(day, [])
        last = todays[-1] if todays else None
        open_by_severity = None
        if last is not None:
            counted = Counter(str(f.get("severity")) for f in last.source.document["findings"])
            open_by_severity = {s: counted.get(s, 0) for s in SEVERITIES}
        days.append(Day(day, last.status if last else None, len(todays), open_by_severity))
        day += timedelta(days=1)
    return tuple(days)


def _policies(runs: Sequence[Run]) -> tuple[PolicyUse, ...]:
    uses: dict[tuple[str | None, str], list[Run]] = {}
    for run in runs:
        policy = run.source.policy
        digest = policy_sha256(policy) if policy is not None else None
        uses.setdefault((digest, run.policy_source), []).append(run)
    return tuple(
        PolicyUse(digest, source, used[0].at, used[-1].at, len(used))
        for (digest, source), used in uses.items()
    )


def _exemptions(runs: Sequence[Run], start: date) -> tuple[ExemptionInForce, ...]:
    """Each policy's exemptions that had not expired when the period began."""
    seen: dict[tuple[str, str], ExemptionInForce] = {}
    for run in runs:
        policy = run.source.policy
        if policy is None:
            continue
        digest = policy_sha256(policy)
        for entry in policy.get("exemptions") or []:
            if not isinstance(entry, Mapping) or str(entry.get("expires", "")) < start.isoformat():
                continue
            kind = "backup" if entry.get("backup_id") else "cluster"
            exemption = ExemptionInForce(
                target=f"{kind} {safe_text(entry.get(f'{kind}_id'))}",
                rules=tuple(safe_text(r, 64) for r in entry.get("rules") or ()),
                reason=safe_text(entry.get("reason"), 512),
                expires=safe_text(entry.get("expires"), 10),
                policy_sha256=digest,
            )
            seen.setdefault((digest, repr(exemption)), exemption)
    return tuple(seen.values())


def build_period(
    reports: Sequence[SourcedReport],
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
) -> Period:
    """The figures of the reports generated from `start` to `end` (UTC days, inclusive;
    default: the first and last report's day). Days after `today` are not scheduled yet."""
    for report in reports:
        problem = report_problem(report.document)
        if problem:
            raise PeriodError(f"{safe_text(report.location, 200)}: {problem}")
    everything = sorted((_run(r) for r in reports), key=lambda run: (run.at, run.source.location))
    if not everything:
        raise PeriodError("no reports to read")
    if start is not None and end is not None and start > end:
        raise PeriodError(f"--from {start} is after --to {end}")
    start = start or min(everything[0].at.date(), end or everything[0].at.date())
    end = end or max(everything[-1].at.date(), start)
    runs = [run for run in everything if start <= run.at.date() <= end]
    if not runs:
        raise PeriodError(f"no report from {start} to {end}")
    last_day = min(end, today) if today else end
    return Period(
        start=start,
        end=end,
        days=_days(start, max(last_day, start), runs),
        runs=tuple(runs),
        lifecycles=(cycles := lifecycles(runs)),
        fix_times=fix_times(cycles),
        policies=_policies(runs),
        exemptions=_exemptions(runs, start),
    )

"""The audit: folds pages of clusters and backups into a report. Pure: no AWS here.

A compliant backup costs only counters and one entry in the de-duplication
index; findings are kept because they are the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..constants import STATE_READY, Severity, Status
from .model import (
    MISSING,
    BackupRecord,
    ClusterRecord,
    Finding,
    ScanError,
    parse_backup,
    parse_cluster,
)
from .policy import Policy
from .rules import (
    SHARED_NOTE,
    apply_exemptions,
    backup_findings,
    cluster_findings,
    in_future,
    overdue_candidate,
)

ClusterKey = tuple[str, str, str]  # account, region, cluster id


@dataclass(frozen=True)
class Scope:
    regions: tuple[str, ...]
    account_id: str
    accounts: tuple[str, ...]
    include_shared: bool
    policy_source: str = "defaults"
    # `--region all`: per account, the CloudHSM regions skipped as not enabled for it
    regions_not_enabled: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class Report:
    status: Status
    generated_at: datetime
    scope: Scope
    backups_scanned: int
    findings: list[Finding]
    errors: list[ScanError]
    by_region: dict[str, int] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0

    @property
    def backups_noncompliant(self) -> int:
        return len(
            {
                (f.account_id, f.region, f.backup_id)
                for f in self.findings
                if f.backup_id is not None and f.severity > Severity.INFO
            }
        )

    @property
    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return dict(sorted(counts.items()))

    def breakdown(self, attribute: str) -> dict[str, tuple[int, int]]:
        """Per region (`region`) or account (`account_id`): (backups scanned, findings).

        Every region and account in scope is listed, zeros included."""
        if attribute == "region":
            names, scanned = self.scope.regions, self.by_region
        else:
            names, scanned = self.scope.accounts, self.by_account
        findings: dict[str, int] = dict.fromkeys([*names, *scanned], 0)
        for finding in self.findings:
            name = getattr(finding, attribute)
            findings[name] = findings.get(name, 0) + 1
        return {name: (scanned.get(name, 0), findings[name]) for name in sorted(findings)}

    @property
    def highest_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)


@dataclass(slots=True)
class _Newest:
    created: datetime
    key: int


class Audit:
    """Accumulates one run. Feed clusters of a region before its backups."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.now = now
        self.backups_scanned = 0
        self.by_region: dict[str, int] = {}
        self.by_account: dict[str, int] = {}
        self.errors: list[ScanError] = []
        self._findings: list[Finding] = []
        self._clusters: dict[ClusterKey, ClusterRecord] = {}
        self._regions_without_clusters: set[tuple[str, str]] = set()
        self._regions_without_backups: set[tuple[str, str]] = set()
        # dedupe key -> True while the backup has only been seen as shared
        self._seen: dict[int, bool] = {}
        self._unnamed = 0
        self._by_key: dict[int, list[Finding]] = {}
        self._newest_ready: dict[ClusterKey, _Newest] = {}
        self._overdue: list[tuple[int, ClusterKey, Finding]] = []

    # --- input ---------------------------------------------------------------
    def add_clusters(self, account_id: str, region: str, items: Iterable[Any]) -> None:
        for raw in items:
            cluster = parse_cluster(raw, account_id, region)
            self._clusters[(account_id, region, cluster.cluster_id)] = cluster

    def clusters_unavailable(self, account_id: str, region: str) -> None:
        """DescribeClusters failed here: retention cannot be judged (the run is INCOMPLETE)."""
        self._regions_without_clusters.add((account_id, region))

    def backups_unavailable(self, account_id: str, region: str) -> None:
        """An owned-backups listing failed here: cluster freshness cannot be judged."""
        self._regions_without_backups.add((account_id, region))

    def add_error(self, error: ScanError) -> None:
        self.errors.append(error)

    def add_backups(self, account_id: str, region: str, shared: bool, items: Iterable[Any]) -> None:
        for raw in items:
            self._add_backup(parse_backup(raw, account_id, region, shared))

    def _add_backup(self, backup: BackupRecord) -> None:
        if backup.arn is None and backup.backup_id == MISSING:
            # Nothing identifies it: never merge it into another backup (that could hide it).
            self._unnamed += 1
            key = hash((MISSING, self._unnamed))
        else:
            key = backup.dedupe_key
        seen_as_shared_only = self._seen.get(key)
        if seen_as_shared_only is not None:
            if seen_as_shared_only and not backup.shared:
                # Owned wins over shared, whichever listing answered first.
                self._seen[key] = False
                for finding in self._by_key.get(key, ()):
                    finding.shared = False
                    finding.remediation = finding.remediation.removesuffix(SHARED_NOTE)
                self._track_newest(backup, key)
            return
        self._seen[key] = backup.shared
        self.backups_scanned += 1
        self.by_region[backup.region] = self.by_region.get(backup.region, 0) + 1
        self.by_account[backup.account_id] = self.by_account.get(backup.account_id, 0) + 1

        found = list(backup_findings(backup, self.policy))
        cluster_key = (backup.account_id, backup.region, backup.cluster_id)
        self._track_newest(backup, key)
        if (backup.account_id, backup.region) not in self._regions_without_clusters:
            late = overdue_candidate(backup, self._clusters.get(cluster_key), self.policy, self.now)
            if late is not None:
                self._overdue.append((key, cluster_key, late))
                self._by_key.setdefault(key, []).append(late)
        if found:
            self._findings.extend(found)
            self._by_key.setdefault(key, []).extend(found)

    def _track_newest(self, backup: BackupRecord, key: int) -> None:
        """Each owned cluster's newest READY backup: for stale-cluster and overdue."""
        if backup.state != STATE_READY or backup.shared or backup.is_copy or not backup.created:
            return
        if in_future(backup.created, self.now):
            return  # a timestamp from the future cannot make a stale cluster look fresh
        cluster_key = (backup.account_id, backup.region, backup.cluster_id)
        newest = self._newest_ready.get(cluster_key)
        if newest is None or backup.created > newest.created:
            self._newest_ready[cluster_key] = _Newest(backup.created, key)

    # --- output --------------------------------------------------------------
    def finish(self, scope: Scope, generated_at: datetime | None = None) -> Report:
        findings = list(self._findings)
        for key, cluster_key, late in self._overdue:
            newest = self._newest_ready.get(cluster_key)
            if newest is not None and newest.key == key:
                continue  # the service keeps a cluster's newest backup
            findings.append(late)
        for cluster_key, cluster in self._clusters.items():
            newest = self._newest_ready.get(cluster_key)
            blind = cluster_key[:2] in self._regions_without_backups
            findings.extend(
                cluster_findings(
                    cluster, newest.created if newest else None, self.policy, self.now, blind
                )
            )
        findings = apply_exemptions(findings, self.policy, self.now.date())
        findings.sort(key=Finding.sort_key)
        errors = sorted(self.errors, key=lambda e: (e.account_id, e.region, e.operation, e.code))
        if errors:
            status = Status.INCOMPLETE
        elif any(f.severity > Severity.INFO for f in findings):
            status = Status.NON_COMPLIANT
        else:
            status = Status.COMPLIANT
        return Report(
            status=status,
            generated_at=generated_at or self.now,
            scope=scope,
            backups_scanned=self.backups_scanned,
            findings=findings,
            errors=errors,
            by_region=dict(sorted(self.by_region.items())),
            by_account=dict(sorted(self.by_account.items())),
        )

"""The audit: folds pages of clusters and backups into a report. Pure: no AWS here.

A compliant backup costs only counters and one entry in the de-duplication
index; findings are kept because they are the output. The report it builds, and its
verdict, are in outcome.py (re-exported here).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..constants import STATE_DELETED, STATE_READY
from .coverage import LISTINGS, Cell, backup_mark, derive, scope_accounts
from .model import (
    BackupRecord,
    ClusterRecord,
    Finding,
    ScanError,
    is_one_of,
    parse_backup,
    parse_cluster,
)
from .outcome import Report, Scope, error_order, verdict
from .policy import Policy
from .rules import (
    apply_exemptions,
    backup_findings,
    cluster_findings,
    in_future,
    on_deleted_cluster,
    overdue_candidate,
)

__all__ = ["Audit", "ClusterKey", "Report", "Scope", "error_order", "verdict"]

ClusterKey = tuple[str, str, str]  # account, region, cluster id


@dataclass(slots=True)
class _Newest:
    created: datetime
    key: int


@dataclass(slots=True)
class _SharedView:
    """A backup seen only in shared listings so far: provisional until `finish()`. The
    owner's view replaces it entirely, whichever listing answers first."""

    account_id: str
    region: str
    findings: tuple[Finding, ...]  # () for a compliant backup: no list kept per backup


class Audit:
    """Accumulates one run. Feed clusters of a region before its backups.

    The report does not depend on the order the listings answer in: a backup's owned view
    wins over every shared view of it, and among shared views only, the lowest (account,
    region) is kept."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.now = now
        # Owned backups per region and account; shared-only ones are added in finish().
        self.by_region: dict[str, int] = {}
        self.by_account: dict[str, int] = {}
        self.errors: list[ScanError] = []
        self._owned_scanned = 0
        self._findings: list[Finding] = []
        self._clusters: dict[ClusterKey, ClusterRecord] = {}
        self._unnamed_clusters: list[ClusterRecord] = []
        self._regions_without_clusters: set[tuple[str, str]] = set()
        self._cluster_listings: set[tuple[str, str]] = set()  # (account, region) pages read
        self._regions_without_backups: set[tuple[str, str]] = set()
        # The de-duplication index: one int per owned backup, plus the shared-only views.
        self._owned: set[int] = set()
        self._shared: dict[int, _SharedView] = {}
        self._unnamed = 0
        self._newest_ready: dict[ClusterKey, _Newest] = {}
        self._overdue: list[tuple[int, ClusterKey, Finding]] = []
        self._read: set[Cell] = set()  # listings that ended with their last page
        # The scanner says which listings ended (listing_read). An audit fed by hand (tests,
        # benchmarks) reads every cell of its scope that no error entry names.
        self.tracks_reads = False
        # Every backup listed (backup_mark), for the resolved reasons: 8 bytes a backup.
        self._listed = array("q")

    @property
    def backups_scanned(self) -> int:
        return self._owned_scanned + len(self._shared)

    # --- input ---------------------------------------------------------------
    def add_clusters(self, account_id: str, region: str, items: Iterable[Any]) -> None:
        self._cluster_listings.add((account_id, region))
        for raw in items:
            cluster = parse_cluster(raw, account_id, region)
            if cluster.cluster_ref is None:
                self._unnamed_clusters.append(cluster)  # never merged, never matched
            else:
                self._clusters[(account_id, region, cluster.cluster_ref)] = cluster

    def clusters_unavailable(self, account_id: str, region: str) -> None:
        """DescribeClusters failed here: which clusters exist, and their retention, is unknown
        (the run is INCOMPLETE). Overdue is judged against the API's longest retention."""
        self._regions_without_clusters.add((account_id, region))

    def backups_unavailable(self, account_id: str, region: str) -> None:
        """An owned-backups listing failed here: cluster freshness cannot be judged."""
        self._regions_without_backups.add((account_id, region))

    def add_error(self, error: ScanError) -> None:
        self.errors.append(error)

    def listing_read(self, account_id: str, region: str, listing: str) -> None:
        """This listing ended with its last page: read completely, unless an error entry
        names it (a page that could not be folded)."""
        self._read.add((account_id, region, listing))

    def add_backups(self, account_id: str, region: str, shared: bool, items: Iterable[Any]) -> None:
        for raw in items:
            self._add_backup(parse_backup(raw, account_id, region, shared))

    def _add_backup(self, backup: BackupRecord) -> None:
        self._listed.append(backup_mark(backup.account_id, backup.region, backup.backup_id))
        key = backup.dedupe_key
        if key is None:
            # Nothing identifies it: never merge it into another backup (that could hide it).
            self._unnamed += 1
            key = -self._unnamed
        elif key in self._owned:
            return  # the owner's view is in already
        if backup.shared:
            view = self._shared.get(key)
            if view is not None and (view.account_id, view.region) <= (
                backup.account_id,
                backup.region,
            ):
                return
            self._shared[key] = _SharedView(
                backup.account_id, backup.region, tuple(self._judge(backup, key))
            )
            return
        # The owner's view: it replaces whatever a sharer's listing said of this backup.
        self._shared.pop(key, None)
        if key >= 0:
            self._owned.add(key)
        self._owned_scanned += 1
        self.by_region[backup.region] = self.by_region.get(backup.region, 0) + 1
        self.by_account[backup.account_id] = self.by_account.get(backup.account_id, 0) + 1
        self._findings.extend(self._judge(backup, key))
        self._track_newest(backup, key)

    def _judge(self, backup: BackupRecord, key: int) -> list[Finding]:
        """The backup's own findings; its overdue candidate is set aside for finish()."""
        found = list(backup_findings(backup, self.policy))
        where = (backup.account_id, backup.region)
        cluster_key = (*where, backup.cluster_ref or "")
        cluster = self._clusters.get(cluster_key) if backup.cluster_ref is not None else None
        late = overdue_candidate(
            backup, cluster, self.policy, self.now, where in self._regions_without_clusters
        )
        for finding in found:
            finding.backup_key = key
        if late is not None:
            late.backup_key = key
            if backup.shared:
                found.append(late)  # a sharer never holds the owner's newest backup
            else:
                self._overdue.append((key, cluster_key, late))
        return found

    def _track_newest(self, backup: BackupRecord, key: int) -> None:
        """Each owned cluster's newest READY backup: for stale-cluster and overdue."""
        if backup.state != STATE_READY or backup.is_copy or not backup.created:
            return
        if backup.cluster_ref is None:
            return  # no ClusterId: not grouped with anything
        if in_future(backup.created, self.now):
            return  # a timestamp from the future cannot make a stale cluster look fresh
        cluster_key = (backup.account_id, backup.region, backup.cluster_ref)
        newest = self._newest_ready.get(cluster_key)
        if newest is None or backup.created > newest.created:
            self._newest_ready[cluster_key] = _Newest(backup.created, key)

    def _cluster_may_exist(self, cluster_key: ClusterKey) -> bool:
        """Listed (and not DELETED), or its region's cluster listing failed: only such a
        cluster's newest backup is kept by the service and so never overdue."""
        cluster = self._clusters.get(cluster_key)
        if cluster is not None:
            return not is_one_of(cluster.state, (STATE_DELETED,))
        return cluster_key[:2] in self._regions_without_clusters

    def _mark_deleted_clusters(self, findings: list[Finding]) -> None:
        """Owned backups whose cluster is missing from a cluster listing read completely (in
        the cluster's region: a copy's source region), or listed as DELETED."""
        unsure = self._regions_without_clusters | {(e.account_id, e.region) for e in self.errors}
        complete = self._cluster_listings - unsure
        for finding in findings:
            if finding.backup_id is None or finding.shared or finding.cluster_ref is None:
                continue
            where = (finding.account_id, finding.cluster_region)
            if where in complete and not self._cluster_may_exist((*where, finding.cluster_ref)):
                on_deleted_cluster(finding)

    # --- output --------------------------------------------------------------
    def finish(self, scope: Scope, generated_at: datetime | None = None) -> Report:
        findings = list(self._findings)
        by_region, by_account = dict(self.by_region), dict(self.by_account)
        for view in self._shared.values():
            findings.extend(view.findings)
            by_region[view.region] = by_region.get(view.region, 0) + 1
            by_account[view.account_id] = by_account.get(view.account_id, 0) + 1
        restore_points = {
            newest.key
            for cluster_key, newest in self._newest_ready.items()
            if self._cluster_may_exist(cluster_key)
        }
        for key, _cluster_key, late in self._overdue:
            if key in restore_points:
                continue  # the service keeps a cluster's newest backup
            findings.append(late)
        for finding in findings:
            if finding.backup_key in restore_points and not finding.shared:
                finding.last_restore_point = True
        clusters = [*self._clusters.items()]
        clusters += [((c.account_id, c.region, ""), c) for c in self._unnamed_clusters]
        for cluster_key, cluster in clusters:
            newest = self._newest_ready.get(cluster_key) if cluster.cluster_ref else None
            blind = cluster_key[:2] in self._regions_without_backups
            findings.extend(
                cluster_findings(
                    cluster, newest.created if newest else None, self.policy, self.now, blind
                )
            )
        findings = apply_exemptions(findings, self.policy, self.now.date())
        self._mark_deleted_clusters(findings)
        findings.sort(key=Finding.sort_key)
        accounts = scope_accounts(scope.accounts, self.errors)
        read = self._read
        if not self.tracks_reads:
            read = {(a, r, k) for a in accounts for r in scope.regions for k in LISTINGS}
        coverage, unexplained = derive(
            accounts,
            scope.regions,
            scope.include_shared,
            read,
            self.errors,
            dict(scope.regions_not_enabled),
        )
        listed_clusters = frozenset(
            (c.account_id, c.region, c.cluster_id)
            for c in [*self._clusters.values(), *self._unnamed_clusters]
        )
        coverage = replace(coverage, backups=self._listed, clusters=listed_clusters)
        errors = sorted([*self.errors, *unexplained], key=error_order)
        return Report(
            status=verdict(findings, errors),
            generated_at=generated_at or self.now,
            scope=scope,
            backups_scanned=self.backups_scanned,
            findings=findings,
            errors=errors,
            by_region=dict(sorted(by_region.items())),
            by_account=dict(sorted(by_account.items())),
            coverage=coverage,
        )

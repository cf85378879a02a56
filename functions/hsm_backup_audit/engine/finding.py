"""What a run reports: a finding with its stable id, a scan error entry, and per-region
or per-account counts. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..constants import RULES_IN_REPORT_ORDER, Rule, Severity

FINDING_ID_VERSION = "v1"
# What a finding id looks like (the recipe below): an id read back must match it exactly.
FINDING_ID_PATTERN = r"^v1-[0-9a-f]{32}$"


def finding_id(
    rule: str, account_id: str, region: str, cluster_id: str, backup_id: str | None
) -> str:
    """`v1-` and 32 hex digits of SHA-256 over the rule and the resource it is about
    (account, region, cluster id, backup id or "" for a cluster finding), joined by NUL.
    The ids are the raw ones the API sent (the same as displayed for every ordinary id)."""
    key = "\0".join((str(rule), account_id, region, cluster_id, backup_id or ""))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{FINDING_ID_VERSION}-{digest}"


@dataclass(slots=True)
class Finding:
    rule: Rule
    severity: Severity
    account_id: str
    region: str
    cluster_id: str
    backup_id: str | None
    shared: bool
    message: str
    remediation: str
    tags: tuple[tuple[str, str], ...] = ()
    # What Security Hub shows of the resource (not in the JSON report): the BackupArn the
    # API gave (a cluster's ARN is built from its id), and the mode and HSM type it reported.
    resource_arn: str | None = None
    mode: str | None = None
    hsm_type: str | None = None
    # The resource exactly as the API named it (raw ClusterId, raw BackupId), for `id`;
    # None: the displayed value is the name (a finding built by hand, or nothing raw).
    cluster_ref: str | None = None
    backup_ref: str | None = None
    # Which backup of this run it is about (the de-duplication key): never shown, counted
    # by `backups_noncompliant` so that backups without any id still count one by one.
    backup_key: int | None = None
    # The backup is its cluster's newest READY one while the cluster is listed and not
    # deleted (or its listing failed): the cluster's last restore point. `fix` never acts
    # on it; the report says so on its findings ("last_restore_point": true).
    last_restore_point: bool = False
    # A cross-region copy: the region of its source, where its cluster is (None: not a copy).
    source_region: str | None = None
    # Its cluster was not listed this run where it lives, though that listing was read
    # completely: the cluster is deleted, so no fix may name it.
    cluster_deleted: bool = False

    @property
    def cluster_region(self) -> str:
        """Where the finding's cluster is: a copy's source region, else its own."""
        return self.source_region or self.region

    @property
    def id(self) -> str:
        """Stable across runs: the same rule on the same resource has the same id, whatever the
        message, severity, exemption or run time. The key for changes and for Security Hub.
        Built from the raw ids, so two backups that only display alike keep two ids."""
        cluster = self.cluster_ref if self.cluster_ref is not None else self.cluster_id
        backup = self.backup_ref if self.backup_ref is not None else self.backup_id
        return finding_id(self.rule, self.account_id, self.region, cluster, backup)

    def sort_key(self) -> tuple[Any, ...]:
        return (
            RULES_IN_REPORT_ORDER.index(self.rule),
            self.account_id,
            self.region,
            self.cluster_id,
            self.backup_id or "",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": str(self.rule),
            "severity": self.severity.name,
            "account_id": self.account_id,
            "region": self.region,
            "cluster_id": self.cluster_id,
            "backup_id": self.backup_id,
            "shared": self.shared,
            "message": self.message,
            "remediation": self.remediation,
            "tags": dict(self.tags),
        } | self._placement()

    def _placement(self) -> dict[str, Any]:
        """Only when they say something: a copy's source region, a deleted cluster."""
        extra: dict[str, Any] = {}
        if self.source_region is not None:
            extra["source_region"] = self.source_region
        if self.cluster_deleted:
            extra["cluster_deleted"] = True
        if self.last_restore_point:
            extra["last_restore_point"] = True
        return extra


@dataclass(frozen=True, slots=True)
class ScanError:
    account_id: str
    region: str
    operation: str
    code: str
    message: str
    listing: str | None = None  # clusters, owned or shared; None for account set-up calls

    @property
    def call(self) -> str:
        """The operation as shown: DescribeBackups (shared) tells the two listings apart."""
        return f"{self.operation} ({self.listing})" if self.listing else self.operation

    def to_dict(self) -> dict[str, str]:
        entry = {
            "account_id": self.account_id,
            "region": self.region,
            "operation": self.operation,
            "code": self.code,
            "message": self.message,
        }
        if self.listing:
            entry["listing"] = self.listing
        return entry


@dataclass(slots=True)
class Tally:
    """Counters for one region or one account."""

    backups_scanned: int = 0
    findings: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def repeated_id(ids: Iterable[str | None]) -> str | None:
    """`findings.N.id: ID appears more than once` for the first id met twice (ids that are
    None, from reports written before ids, are passed over), or None."""
    seen: set[str] = set()
    for number, finding_id in enumerate(ids):
        if finding_id is None:
            continue
        if finding_id in seen:
            return f"findings.{number}.id: {finding_id} appears more than once"
        seen.add(finding_id)
    return None

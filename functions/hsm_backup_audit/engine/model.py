"""Plain records the engine works on, parsed once from what the API returned.

Every string an account member controls (ids, tags, types) is made safe here,
at the edge, so nothing downstream can be fooled into forging a line.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..constants import RULES_IN_REPORT_ORDER, Rule, Severity

MAX_VALUE_LENGTH = 128
MAX_TAGS_SHOWN = 10
MISSING = "(missing)"


def safe_text(value: Any, limit: int = MAX_VALUE_LENGTH) -> str:
    """One printable line: control and format characters dropped, length bounded."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        # Fast path (nearly every value): no C* character and no whitespace but " ",
        # so the character filter below would change nothing. It was 12% of a scan.
        cleaned = text
    else:
        cleaned = "".join(
            " " if ch in "\t\n\r\v\f\x85\u2028\u2029" else ch
            for ch in text
            if ch in "\t\n\r\v\f\x85\u2028\u2029" or unicodedata.category(ch)[0] != "C"
        )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 3, 0)] + "..."
    return cleaned


def as_utc(value: Any) -> datetime | None:
    """The one place a timestamp is normalised: naive means UTC (moto sends naive ones).

    A value that is no usable moment (out of range, NaN, garbage) is None: never a crash."""
    try:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str) and value:
            return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _optional_text(value: Any) -> str | None:
    text = safe_text(value)
    return text or None


def shown(value: Any) -> str:
    """A raw API value for a message: as it is when it is already one clean line, else
    quoted with every hidden character escaped ("READY ", "DELETED\\u200b"), so a value
    that only looks documented never reads as one."""
    if isinstance(value, str) and value and safe_text(value) == value:
        return value
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (RecursionError, ValueError):  # nested deeper than the stack (a hostile answer)
        text = f"({type(value).__name__} nested too deeply to show)"
    return safe_text(text)


def is_one_of(value: Any, documented: Iterable[str]) -> bool:
    """The raw value is exactly one of these strings (never after cleaning it)."""
    return isinstance(value, str) and value in documented


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


def _raw_id(value: Any) -> str | None:
    """An identifier exactly as the API sent it; anything but a non-empty string is none."""
    return value if isinstance(value, str) and value else None


def identity_key(identity: str) -> int:
    """128 bits of BLAKE2b over the exact raw identity: a small int for the de-duplication
    index (one per backup), with no collision in practice, even for chosen ARNs."""
    digest = hashlib.blake2b(identity.encode("utf-8", "surrogatepass"), digest_size=16)
    return int.from_bytes(digest.digest(), "big")


def _content_ref(item: dict[str, Any]) -> str:
    """Neither id nor ARN: the finding id is derived from the whole item as sent."""
    text = repr(sorted((repr(key), repr(value)) for key, value in item.items()))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{MISSING} {digest}"


COPY_FIELDS = ("SourceBackup", "SourceRegion", "SourceCluster", "CopyTimestamp")


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """One backup. `backup_id` and `cluster_id` are for display (safe_text); `state`,
    `mode` and `hsm_type` are the raw API values, compared as they are and shown through
    `shown()`; `identity`, `backup_ref` and `cluster_ref` are the raw identifiers."""

    account_id: str
    region: str
    backup_id: str
    cluster_id: str
    state: Any
    created: datetime | None
    never_expires: bool | None
    mode: Any
    hsm_type: Any
    is_copy: bool
    delete_at: datetime | None
    shared: bool
    tags: tuple[tuple[str, str], ...] = ()
    # Exact raw identity: "arn" + BackupArn, or "id" + region + BackupId; None: neither.
    identity: str | None = None
    backup_ref: str | None = None  # raw BackupId (or ARN, or a digest of the item): finding id
    cluster_ref: str | None = None  # raw ClusterId; None: no cluster to group it with
    arn: str | None = None  # raw BackupArn: the resource Security Hub names
    source_region: str | None = None  # a cross-region copy: its source's (and cluster's) region

    @property
    def dedupe_key(self) -> int | None:
        """Same raw BackupArn, same backup; without one, the same raw id in the same region.
        None: nothing identifies it, so it is never merged with another backup."""
        return identity_key(self.identity) if self.identity is not None else None


def parse_backup(raw: Any, account_id: str, region: str, shared: bool) -> BackupRecord:
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    never_expires = item.get("NeverExpires")
    tags_raw = item.get("TagList")
    tags: list[tuple[str, str]] = []
    if isinstance(tags_raw, list):
        for tag in tags_raw[:MAX_TAGS_SHOWN]:
            if isinstance(tag, dict):
                tags.append((safe_text(tag.get("Key"), 64), safe_text(tag.get("Value"), 64)))
    arn, backup_id = _raw_id(item.get("BackupArn")), _raw_id(item.get("BackupId"))
    if arn is not None:
        identity: str | None = f"arn\0{arn}"
    elif backup_id is not None:
        identity = f"id\0{region}\0{backup_id}"
    else:
        identity = None
    return BackupRecord(
        account_id=account_id,
        region=region,
        backup_id=safe_text(item.get("BackupId")) or MISSING,
        cluster_id=safe_text(item.get("ClusterId")) or MISSING,
        state=item.get("BackupState"),
        created=as_utc(item.get("CreateTimestamp")),
        never_expires=never_expires if isinstance(never_expires, bool) else None,
        mode=item.get("Mode"),
        hsm_type=item.get("HsmType"),
        is_copy=any(item.get(name) is not None for name in COPY_FIELDS),
        delete_at=as_utc(item.get("DeleteTimestamp")),
        shared=shared,
        tags=tuple(tags),
        identity=identity,
        backup_ref=backup_id or arn or _content_ref(item),
        cluster_ref=_raw_id(item.get("ClusterId")),
        arn=arn,
        source_region=_optional_text(item.get("SourceRegion")),
    )


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    account_id: str
    region: str
    cluster_id: str  # for display
    state: Any  # raw
    created: datetime | None
    retention_days: int | None  # None: no DAYS retention policy we can read
    retention_text: str  # what the API said, for the message
    mode: Any = None  # raw, as for a backup (Security Hub shows them)
    hsm_type: Any = None
    cluster_ref: str | None = None  # raw ClusterId; None: not reported


_DAYS = re.compile(r"[0-9]{1,9}")


def parse_cluster(raw: Any, account_id: str, region: str) -> ClusterRecord:
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    policy = item.get("BackupRetentionPolicy")
    retention_days: int | None = None
    retention_text = "none"
    if isinstance(policy, dict):
        kind, value = policy.get("Type"), policy.get("Value")
        retention_text = safe_text(f"{shown(kind)} {shown(value)}", 40)
        # Exactly the documented form: Type "DAYS", Value a string of ASCII digits.
        if kind == "DAYS" and isinstance(value, str) and _DAYS.fullmatch(value):
            retention_days = int(value)
    return ClusterRecord(
        account_id=account_id,
        region=region,
        cluster_id=safe_text(item.get("ClusterId")) or MISSING,
        state=item.get("State"),
        created=as_utc(item.get("CreateTimestamp")),
        retention_days=retention_days,
        retention_text=retention_text,
        mode=item.get("Mode"),
        hsm_type=item.get("HsmType"),
        cluster_ref=_raw_id(item.get("ClusterId")),
    )


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

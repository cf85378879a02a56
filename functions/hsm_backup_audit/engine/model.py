"""The records the engine works on (backups and clusters), parsed once from what the API
returned; findings and error entries are in finding.py, value cleaning in values.py.

Every string an account member controls (ids, tags, types) is made safe here,
at the edge, so nothing downstream can be fooled into forging a line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .finding import (
    FINDING_ID_PATTERN,
    FINDING_ID_VERSION,
    Finding,
    ScanError,
    Tally,
    finding_id,
    repeated_id,
)
from .values import MAX_VALUE_LENGTH, as_utc, is_one_of, safe_text, shown

# Re-exported: the engine and its callers import these from here.
__all__ = [
    "FINDING_ID_PATTERN",
    "FINDING_ID_VERSION",
    "MAX_VALUE_LENGTH",
    "BackupRecord",
    "ClusterRecord",
    "Finding",
    "ScanError",
    "Tally",
    "as_utc",
    "finding_id",
    "identity_key",
    "is_one_of",
    "parse_backup",
    "parse_cluster",
    "repeated_id",
    "safe_text",
    "shown",
]

MAX_TAGS_SHOWN = 10
MISSING = "(missing)"


def _optional_text(value: Any) -> str | None:
    text = safe_text(value)
    return text or None


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

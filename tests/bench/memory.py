"""Peak memory of the engine's fold for N compliant backups, with tracemalloc.

The pages are made on the fly in the shape botocore hands them over (dicts, naive
datetimes as moto sends), 50 to a page, so the only memory that can grow with N is
what the Audit keeps. The scanner adds a bounded queue of pages on top of this,
independent of N.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

ACCOUNT, REGION = "123456789012", "us-east-1"
PER_CLUSTER = 250


def _page(start: int, size: int, now: datetime) -> list[dict[str, Any]]:
    page = []
    for number in range(start, start + size):
        backup_id = f"backup-{number:011d}"
        page.append(
            {
                "BackupId": backup_id,
                "BackupArn": f"arn:aws:cloudhsm:{REGION}:{ACCOUNT}:backup/{backup_id}",
                "BackupState": "READY",
                "ClusterId": f"cluster-{number // PER_CLUSTER:011d}",
                "CreateTimestamp": now - timedelta(hours=number % PER_CLUSTER + 1),
                "HsmType": "hsm2m.medium",
                "Mode": "FIPS",
                "NeverExpires": False,
                "TagList": [{"Key": "Name", "Value": "payments"}],
            }
        )
    return page


def _pages(count: int, now: datetime) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, count, 50):
        yield _page(start, min(50, count - start), now)


def _clusters(count: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "ClusterId": f"cluster-{number:011d}",
            "State": "ACTIVE",
            "BackupRetentionPolicy": {"Type": "DAYS", "Value": "90"},
            "CreateTimestamp": now - timedelta(days=400),
        }
        for number in range((count + PER_CLUSTER - 1) // PER_CLUSTER)
    ]


def peak_bytes(count: int) -> tuple[int, int, str]:
    """(peak bytes during the fold and report, backups scanned, status)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    gc.collect()
    tracemalloc.start()
    try:
        audit = Audit(Policy(), now.replace(tzinfo=UTC))
        audit.add_clusters(ACCOUNT, REGION, _clusters(count, now))
        for page in _pages(count, now):
            audit.add_backups(ACCOUNT, REGION, False, page)
        report = audit.finish(Scope((REGION,), ACCOUNT, (ACCOUNT,), True))
        to_document(report)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, report.backups_scanned, str(report.status)

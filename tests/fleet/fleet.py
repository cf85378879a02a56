"""Seeds moto's CloudHSM v2 backend with clusters and backups of any shape.

moto creates only READY backups stamped "now" and has no CopyBackupToRegion (nor, on its
own, ModifyBackupAttributes, DeleteBackup or RestoreBackup: backup_writes.py adds those),
so varied fleets go straight into its backend.
Works under `mock_aws` and under a ThreadedMotoServer in the same process.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudhsmv2.models import Backup, Cluster, cloudhsmv2_backends

DEFAULT_ACCOUNT = "123456789012"
_ID_ALPHABET = string.ascii_lowercase + "234567"


def _real_looking_id(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(11))


def _naive_utc(moment: datetime) -> datetime:
    """moto keeps naive UTC datetimes; so do we when we write into it."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass
class Fleet:
    """A handle on one account's CloudHSM v2 backend across regions."""

    account_id: str = DEFAULT_ACCOUNT
    seed: int = 7

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def backend(self, region: str) -> Any:
        return cloudhsmv2_backends[self.account_id][region]

    def add_cluster(
        self,
        region: str,
        *,
        retention_days: int | None = 90,
        state: str = "ACTIVE",
        hsm_type: str = "hsm2m.medium",
        mode: str = "FIPS",
        created: datetime | None = None,
        cluster_id: str | None = None,
    ) -> str:
        policy = {"Type": "DAYS", "Value": str(retention_days)} if retention_days else None
        cluster = Cluster(
            backup_retention_policy=policy,
            hsm_type=hsm_type,
            source_backup_id=None,
            subnet_ids=["subnet-0example"],
            mode=mode,
            region_name=region,
        )
        cluster.cluster_id = cluster_id or _real_looking_id("cluster-", self._rng)
        cluster.state = state
        cluster.create_timestamp = _naive_utc(created or datetime.now(UTC) - timedelta(days=400))
        self.backend(region).clusters[cluster.cluster_id] = cluster
        return cluster.cluster_id

    def add_backup(
        self,
        region: str,
        cluster_id: str,
        *,
        created: datetime,
        state: str = "READY",
        never_expires: bool = False,
        mode: str = "FIPS",
        hsm_type: str = "hsm2m.medium",
        source_region: str | None = None,
        source_backup: str | None = None,
        source_cluster: str | None = None,
        tags: list[dict[str, str]] | None = None,
        delete_at: datetime | None = None,
        backup_id: str | None = None,
    ) -> str:
        backup = Backup(
            cluster_id=cluster_id,
            hsm_type=hsm_type,
            mode=mode,
            tag_list=tags,
            source_backup=source_backup,
            source_cluster=source_cluster,
            source_region=source_region,
            never_expires=never_expires,
            region_name=region,
        )
        backup.backup_id = backup_id or _real_looking_id("backup-", self._rng)
        backup.backup_arn = f"arn:aws:cloudhsm:{region}:{self.account_id}:backup/{backup.backup_id}"
        backup.backup_state = state
        backup.create_timestamp = _naive_utc(created)
        backup.copy_timestamp = _naive_utc(created) if source_backup else None
        backup.delete_timestamp = _naive_utc(delete_at) if delete_at else None  # type: ignore[assignment]
        self.backend(region).backups[backup.backup_id] = backup
        return backup.backup_id

    def add_daily_backups(
        self, region: str, cluster_id: str, *, days: int, now: datetime, **fields: Any
    ) -> list[str]:
        """One READY backup a day, the newest an hour old."""
        return [
            self.add_backup(
                region, cluster_id, created=now - timedelta(days=day, hours=1), **fields
            )
            for day in range(days)
        ]


PRIMARY, SECONDARY = "us-east-1", "eu-west-1"


def seed_demo_fleet(now: datetime, account_id: str = DEFAULT_ACCOUNT) -> Fleet:
    """A small realistic estate with one of each problem the audit looks for."""
    fleet = Fleet(account_id)
    # A PKI root cluster kept for a year, with one backup pinned by hand.
    pki = fleet.add_cluster(PRIMARY, retention_days=379)
    pki_backups = fleet.add_daily_backups(
        PRIMARY, pki, days=365, now=now, tags=[{"Key": "Name", "Value": "pki-root"}]
    )
    fleet.backend(PRIMARY).backups[pki_backups[30]].never_expires = True
    # Payments: 90 days' retention, one backup deleted by someone yesterday.
    payments = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, payments, days=90, now=now)
    fleet.add_backup(
        PRIMARY,
        payments,
        created=now - timedelta(days=40),
        state="PENDING_DELETION",
        delete_at=now + timedelta(days=6),
    )
    # A development cluster whose HSMs were removed: no backup for five days.
    dev = fleet.add_cluster(PRIMARY, retention_days=30)
    fleet.add_daily_backups(PRIMARY, dev, days=25, now=now - timedelta(days=5))
    # A legacy non-FIPS cluster with a too-short retention, and an hsm1 cluster.
    legacy = fleet.add_cluster(SECONDARY, retention_days=7, mode="NON_FIPS")
    fleet.add_daily_backups(SECONDARY, legacy, days=3, now=now, mode="NON_FIPS")
    old_gen = fleet.add_cluster(SECONDARY, retention_days=60, hsm_type="hsm1.medium")
    fleet.add_daily_backups(SECONDARY, old_gen, days=2, now=now, hsm_type="hsm1.medium")
    # A disaster-recovery copy of the PKI root that nobody cleaned up.
    fleet.add_backup(
        SECONDARY,
        pki,
        created=now - timedelta(days=200),
        source_region=PRIMARY,
        source_backup=pki_backups[200],
        source_cluster=pki,
    )
    return fleet

"""The quick guard of Lambda's quotas (tests/scale/test_lambda_quotas.py runs 1,500
accounts in a process limited to 1,024 file descriptors): behind a keep-alive endpoint,
a scan of 40 member accounts in two regions (80 account-region pairs) never runs more
set-up or listing threads than its pools, and never holds more connections open than
docs/reliability.md states."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from test_lambda_quotas import CONNECTION_BOUND, members

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import ACCOUNT_SETUP_WORKERS, DEFAULT_MAX_WORKERS
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.keepalive import KeepAliveFront
from hsm_backup_audit_demo.server import FleetServer

ACCOUNTS = 40
REGIONS = (PRIMARY, SECONDARY)


@pytest.fixture
def front(server_fleet: tuple[str, Fleet], fleet_server: FleetServer) -> Iterator[KeepAliveFront]:
    keepalive = KeepAliveFront(fleet_server.layer).start()
    yield keepalive
    keepalive.stop()


class ThreadPeaks:
    """The most threads alive at once, by the name of their pool ("account", "listing")."""

    def __init__(self) -> None:
        self.most: dict[str, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            counts: dict[str, int] = {}
            for thread in threading.enumerate():
                pool = thread.name.rsplit("-", 1)[0]
                counts[pool] = counts.get(pool, 0) + 1
            for pool, count in counts.items():
                self.most[pool] = max(self.most.get(pool, 0), count)
            time.sleep(0.005)

    def __enter__(self) -> ThreadPeaks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


def test_a_scan_holds_bounded_threads_and_connections(front: KeepAliveFront) -> None:
    # Given 40 member accounts, each with a cluster and a backup in two regions
    accounts = members(ACCOUNTS)
    now = datetime.now(UTC)
    for account_id in accounts:
        fleet = Fleet(account_id)
        for region in REGIONS:
            cluster = fleet.add_cluster(region, retention_days=90)
            fleet.add_backup(region, cluster, created=now - timedelta(hours=2))
    roles = [f"arn:aws:iam::{a}:role/hsm-backup-audit-member" for a in accounts]
    # When they are scanned behind an endpoint that keeps connections open
    with ThreadPeaks() as peaks:
        report = scan(
            ScanRequest(
                regions=list(REGIONS),
                policy=Policy(),
                role_arns=roles,
                endpoint_url=front.url,
                now=now,
            )
        )
    # Then every pair was read, by no more threads than the pools hold, with no more
    # connections open at once than stated; and none is left open
    assert report.errors == []
    assert len(report.scope.accounts) == ACCOUNTS + 1
    assert report.backups_scanned == ACCOUNTS * len(REGIONS)
    assert 1 < peaks.most["account"] <= ACCOUNT_SETUP_WORKERS
    assert 1 < peaks.most["listing"] <= DEFAULT_MAX_WORKERS
    assert front.connections > front.most_connections  # connections were closed and made
    assert front.most_connections <= CONNECTION_BOUND

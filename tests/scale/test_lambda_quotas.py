"""Lambda's own quotas, which moto's server never reaches: 1,024 file descriptors and
1,024 processes and threads.

Behind a front that keeps connections open (as AWS endpoints do; moto's server closes
each after its answer), the command line scans 1,500 member accounts in one region (1,500
account-region pairs) and imports a finding of each into its own Security Hub, in a
process limited to 1,024 file descriptors. Before the pools were bounded and the clients
closed, account set-up started a thread per account, the scan held one client per
account x region (about 340 pairs exhausted the descriptors) and the import one per
(account, region) group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.constants import (
    ACCOUNT_SETUP_WORKERS,
    CLOUDHSM_CLIENT_CONNECTIONS,
    DEFAULT_MAX_WORKERS,
    SECURITY_HUB_MAX_WORKERS,
    ExitCode,
)
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.keepalive import KeepAliveFront
from hsm_backup_audit_demo.server import FleetServer

PROBE = Path(__file__).with_name("quota_probe.py")
ACCOUNTS = int(os.environ.get("QUOTA_ACCOUNTS", "1500"))
FIRST_MEMBER = 300_000_000_000
# The most threads a run may hold besides the main one: the largest pool (the listings',
# MAX_WORKERS) and room for a pool ending while the next starts.
THREAD_BOUND = max(DEFAULT_MAX_WORKERS, ACCOUNT_SETUP_WORKERS, SECURITY_HUB_MAX_WORKERS) * 2
# The most connections a run may hold (docs/reliability.md, "Lambda's quotas"): the open
# CloudHSM clients' (MAX_WORKERS + 1, 3 each), the STS client's (one per set-up worker)
# and the Security Hub clients' (one each).
CONNECTION_BOUND = (
    (DEFAULT_MAX_WORKERS + 1) * CLOUDHSM_CLIENT_CONNECTIONS
    + ACCOUNT_SETUP_WORKERS
    + SECURITY_HUB_MAX_WORKERS
)


@pytest.fixture
def front(server_fleet: tuple[str, Fleet], fleet_server: FleetServer) -> Iterator[KeepAliveFront]:
    """The fleet server's fault layer and moto behind a keep-alive front."""
    keepalive = KeepAliveFront(fleet_server.layer).start()
    yield keepalive
    keepalive.stop()


def members(count: int) -> list[str]:
    return [str(FIRST_MEMBER + n) for n in range(count)]


def seed(accounts: list[str], now: datetime) -> None:
    """In each member account one cluster holding one NON_FIPS backup: one finding each."""
    for account_id in accounts:
        fleet = Fleet(account_id)
        cluster = fleet.add_cluster(PRIMARY, retention_days=90)
        fleet.add_backup(PRIMARY, cluster, created=now - timedelta(hours=2), mode="NON_FIPS")
        securityhub_backends[account_id][PRIMARY].findings.clear()


def test_1500_accounts_scan_and_import_within_lambdas_file_descriptors_and_threads(
    front: KeepAliveFront,
) -> None:
    # Given 1,500 member accounts, each with one finding, behind a keep-alive endpoint
    accounts = members(ACCOUNTS)
    seed(accounts, datetime.now(UTC))
    roles = [f"--role-arn=arn:aws:iam::{a}:role/hsm-backup-audit-member" for a in accounts]
    # When the command line scans them and imports into Security Hub, limited to 1,024
    # file descriptors
    command = [sys.executable, str(PROBE), "scan", "--endpoint-url", front.url]
    command += ["--region", PRIMARY, "--format", "json", "--security-hub", *roles]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=dict(os.environ), check=False
    )
    # Then every account was read completely and every finding imported,
    *err_lines, probe_line = result.stderr.splitlines()
    probe = json.loads(probe_line)
    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"][:3]
    assert probe["exit_code"] == ExitCode.NON_COMPLIANT
    assert len(report["scope"]["accounts"]) == ACCOUNTS + 1  # and the caller's own
    assert len(report["findings"]) == ACCOUNTS
    assert err_lines == [
        f"hsm-backup-audit: Security Hub: {ACCOUNTS:,} findings imported, 0 archived"
        " (reconciled with Security Hub: no longer found where this run read completely)"
    ]
    # while the process held a bounded number of threads and of connections
    assert probe["most_threads"] <= THREAD_BOUND, probe
    assert front.most_connections <= CONNECTION_BOUND, (front.most_connections, probe)
    assert probe["most_fds"] <= CONNECTION_BOUND + 64, probe

"""Time running out mid-scan, a call stuck when it does (the scan returns, INCOMPLETE, with
what it read), and a hostile value nested past the stack (judged, never a hang)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.audit import Report
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Fault

from .conftest import ACCOUNT, PRIMARY_BACKUPS, SECONDARY_BACKUPS, Estate, report_errors, run_scan


def test_time_running_out_mid_scan_stops_reading_and_keeps_what_was_read(estate: Estate) -> None:
    # Given a time budget that runs out once two pages of backups have been asked for
    def out_of_time() -> bool:
        return len(estate.layer.calls_to("DescribeBackups")) >= 2

    # When the audit runs (owned backups only, one listing at a time)
    report = run_scan(
        estate, should_stop=out_of_time, policy=Policy(include_shared=False), max_workers=1
    )
    # Then no further page is asked for, each unfinished listing says so, and the
    # pages already read are reported
    assert report.status is Status.INCOMPLETE
    assert {e.code for e in report.errors} == {"DeadlineExceeded"}
    assert len(estate.layer.calls_to("DescribeBackups")) == 2
    assert 0 < report.backups_scanned < estate.total
    assert (ACCOUNT, PRIMARY, "DescribeBackups", "DeadlineExceeded") in report_errors(report)


def test_a_call_stuck_when_time_runs_out_is_not_waited_for(estate: Estate) -> None:
    # Given SECONDARY hanging for 30 s, read timeouts of 20 s, and a budget of 3 s (ample
    # for PRIMARY's few pages even on a busy machine)
    estate.layer.faults = [Fault("hang", region=SECONDARY, hang_seconds=30)]
    limits = ClientLimits(connect_timeout=1, read_timeout=20, max_attempts=1)
    started = time.monotonic()

    def out_of_time() -> bool:
        return time.monotonic() - started > 3

    # When the audit runs
    report = run_scan(estate, limits=limits, should_stop=out_of_time)
    elapsed = time.monotonic() - started
    # Then it returns soon after the budget, not after the read timeout, with SECONDARY's
    # listings as DeadlineExceeded and PRIMARY reported in full
    assert elapsed < 8
    assert report.status is Status.INCOMPLETE
    assert report_errors(report) == {
        (ACCOUNT, SECONDARY, "DescribeClusters", "DeadlineExceeded"),
        (ACCOUNT, SECONDARY, "DescribeBackups", "DeadlineExceeded"),
    }
    assert report.by_region == {PRIMARY: PRIMARY_BACKUPS}


# A Mode nested this deep: the listing thread parses it (botocore's json.loads, a few dozen
# frames down), and the audit, folding pages AUDIT_DEPTH frames down, must still judge it:
# printing it in the finding's message (shown(): json.dumps) runs out of recursion there.
NESTING = 800
AUDIT_DEPTH = 250
# Owned listings only: moto's shared listing returns the same backups again.
OWNED_ONLY = Policy(include_shared=False)


def _at_depth(frames: int, call: Callable[[], Report]) -> Report:
    """`call()` with `frames` more frames on the stack: a caller as deep as a real one can be."""
    return call() if frames <= 0 else _at_depth(frames - 1, call)


def test_a_value_nested_past_the_stack_is_judged_and_never_a_hang(estate: Estate) -> None:
    # Given 4,000 more backups (far more pages than the result queue holds) and SECONDARY
    # answers whose first FIPS backup has a Mode nested deeper than a message can print
    cluster = estate.fleet.add_cluster(PRIMARY, retention_days=379)
    for day in range(4000):
        estate.fleet.add_backup(
            PRIMARY, cluster, created=estate.now - timedelta(minutes=5 * day + 60)
        )
    deep = b"[" * NESTING + b"]" * NESTING
    assert sys.getrecursionlimit() - AUDIT_DEPTH < NESTING < sys.getrecursionlimit() - 100
    estate.layer.faults = [
        Fault(
            "rewrite",
            operation="DescribeBackups",
            region=SECONDARY,
            rewrite=lambda raw: raw.replace(b'"FIPS"', deep, 1),
        )
    ]
    # When the audit runs with few workers
    outcome: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            report=_at_depth(
                AUDIT_DEPTH, lambda: run_scan(estate, max_workers=2, policy=OWNED_ONLY)
            )
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    # Then it returned with every backup read and counted, and the hostile Mode judged:
    # not an allowed mode, its message bounded, nothing lost to it
    assert not worker.is_alive(), "scan() hung"
    report = outcome["report"]
    assert report.errors == []
    assert report.by_region == {PRIMARY: PRIMARY_BACKUPS + 4000, SECONDARY: SECONDARY_BACKUPS}
    deep_mode = [
        f for f in report.findings if f.rule == "mode" and "nested too deeply" in f.message
    ]
    assert len(deep_mode) == 1 and deep_mode[0].region == SECONDARY
    assert report.status is Status.NON_COMPLIANT

"""The installed `hsm-backup-audit` command, run as a real process against a moto server:
cut short by `| head` or by Ctrl-C, it ends quietly with the exit code a shell expects."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

COMMAND = str(Path(sys.executable).with_name("hsm-backup-audit"))  # the console script


def _start_scan(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [COMMAND, "scan", "--endpoint-url", url, "--region", PRIMARY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ended(process: subprocess.Popen[bytes], seconds: float) -> tuple[int | None, bytes]:
    """(exit code, stderr) once it ends; (None, ...) if it is still running after `seconds`."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None, process.stderr.read() if process.stderr else b""
    return process.returncode, process.stderr.read() if process.stderr else b""


def test_a_reader_that_has_gone_ends_the_run_quietly_with_141(
    server_fleet: tuple[str, Fleet],
) -> None:
    # Given a fleet with findings: a report of several pages of text
    url, fleet = server_fleet
    cluster = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, cluster, days=200, now=datetime.now(UTC), mode="NON_FIPS")
    # When the reader of its output goes away before the report is written (`| head -0`;
    # a reader that leaves after a few lines meets the same error on a later write)
    process = _start_scan(url)
    assert process.stdout is not None
    process.stdout.close()
    code, err = _ended(process, 60)
    # Then the run ends like a process killed by SIGPIPE: exit 141, and nothing at all on
    # stderr (no BrokenPipeError traceback, no "Exception ignored" at exit)
    assert code == ExitCode.OUTPUT_CLOSED == 128 + signal.SIGPIPE, err.decode()
    assert err == b""


def test_ctrl_c_during_a_hanging_call_ends_at_once_with_130(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer
) -> None:
    # Given an endpoint where every DescribeBackups call hangs (each read under its timeout)
    url, fleet = server_fleet
    fleet.add_daily_backups(PRIMARY, fleet.add_cluster(PRIMARY), days=3, now=datetime.now(UTC))
    fleet_server.layer.faults = [Fault("hang", operation="DescribeBackups", hang_seconds=8)]
    process = _start_scan(url)
    deadline = time.monotonic() + 30
    while not fleet_server.layer.calls_to("DescribeBackups") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fleet_server.layer.calls_to("DescribeBackups"), "the scan never reached the listing"
    # When the user presses Ctrl-C while the listings are stuck in their calls
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    code, err = _ended(process, 5)
    # Then it ends within seconds (without waiting for the stuck calls), exit 130,
    # with one line saying so and no traceback; no verdict was printed
    assert code == ExitCode.INTERRUPTED == 128 + signal.SIGINT, err.decode()
    assert time.monotonic() - started < 5
    assert err == b"hsm-backup-audit: interrupted, no verdict\n"
    assert process.stdout is not None and process.stdout.read() == b""

"""The command line always ends: a listing that never ends, an endpoint that drips, pages
that only repeat, and account set-up that hangs all end by the run's deadline, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import Deadline
from hsm_backup_audit.constants import ExitCode, Status
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault

from .conftest import (
    ACCOUNT,
    PRIMARY_BACKUPS,
    SCHEMA,
    Estate,
    errors_of,
    finding_ids,
    report_errors,
    run_cli,
    run_scan,
)

MEMBER_A, MEMBER_B = "111111111111", "222222222222"
NO_HANG_SECONDS = 60  # a test that has not returned by then has hung


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/hsm-backup-audit-member"


def cli_in_a_thread(
    capsys: pytest.CaptureFixture[str], estate: Estate, *args: str
) -> tuple[int, dict[str, Any]]:
    """run_cli, failing the test (instead of hanging it) when the CLI does not return."""
    outcome: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: outcome.update(result=run_cli(capsys, estate, *args)), daemon=True
    )
    worker.start()
    worker.join(timeout=NO_HANG_SECONDS)
    assert not worker.is_alive(), "the command line hung"
    return outcome["result"]


def test_a_listing_with_a_fresh_next_token_forever_ends_at_the_deadline(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given PRIMARY's backup listings answering new backups and a new NextToken forever
    estate.layer.faults = [
        Fault("fresh_token", operation="DescribeBackups", region=PRIMARY, renumber=True)
    ]
    # When the CLI runs with a 2-second bound
    started = time.monotonic()
    code, document = cli_in_a_thread(capsys, estate, "--max-seconds", "2")
    # Then it ended soon after the bound, exit 3, the endless listings are DeadlineExceeded
    # (owned and shared told apart), and SECONDARY is reported in full
    assert time.monotonic() - started < 10
    assert code == ExitCode.INCOMPLETE
    assert {(e["listing"], e["code"]) for e in document["errors"]} == {
        ("owned", "DeadlineExceeded"),
        ("shared", "DeadlineExceeded"),
    }
    assert errors_of(document) == {(ACCOUNT, PRIMARY, "DescribeBackups", "DeadlineExceeded")}
    assert estate.non_fips in finding_ids(document)
    SCHEMA.validate(document)  # the keys added within schema version 1 are documented
    assert len(estate.layer.calls_to("DescribeBackups")) > 10  # it was endless


def test_pages_that_only_repeat_backups_already_listed_end_early(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given PRIMARY's owned listing answering its first page again and again, each time
    # with a new NextToken
    estate.layer.faults = [
        Fault(
            "fresh_token",
            operation="DescribeBackups",
            region=PRIMARY,
            when=lambda call: not call.params.get("Shared"),
        )
    ]
    # When the CLI runs with the default bound (15 minutes)
    code, document = cli_in_a_thread(capsys, estate)
    # Then the listing ends after a few pages, long before the deadline, as its own entry
    assert code == ExitCode.INCOMPLETE
    assert [(e["region"], e["listing"], e["code"]) for e in document["errors"]] == [
        (PRIMARY, "owned", "RepeatedPages")
    ]
    owned = [c for c in estate.layer.calls_to("DescribeBackups") if not c.params.get("Shared")]
    assert len([c for c in owned if c.region == PRIMARY]) == 4  # the first page and 3 repeats
    assert estate.pinned in finding_ids(document)  # the first page was still judged


def test_an_endpoint_that_drips_ends_at_the_deadline_and_the_process_exits(
    estate: Estate,
) -> None:
    # Given SECONDARY's backups answered one byte a second (each read well within the
    # 10 s read timeout), and the command line in its own process, bounded to 3 s
    estate.layer.faults = [
        Fault("drip", operation="DescribeBackups", region=SECONDARY, hang_seconds=120)
    ]
    command = [sys.executable, "-m", "hsm_backup_audit", "scan", "--format", "json"]
    command += ["--endpoint-url", estate.url, "--region", PRIMARY, "--region", SECONDARY]
    command += ["--max-seconds", "3"]
    # When it runs
    started = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=NO_HANG_SECONDS, env=dict(os.environ)
    )
    # Then the process ended soon after the bound (a call stuck in a read does not keep
    # it alive), exit 3, the dripping listings are DeadlineExceeded, PRIMARY is reported
    assert time.monotonic() - started < 20
    assert result.returncode == ExitCode.INCOMPLETE, result.stderr
    document = json.loads(result.stdout)
    assert errors_of(document) == {(ACCOUNT, SECONDARY, "DescribeBackups", "DeadlineExceeded")}
    assert document["summary"]["by_region"][PRIMARY]["backups_scanned"] == PRIMARY_BACKUPS
    assert result.stderr == ""


def test_account_set_up_runs_side_by_side(estate: Estate) -> None:
    # Given two member accounts whose AssumeRole each takes 2 s to answer
    for account in (MEMBER_A, MEMBER_B):
        Fleet(account).add_cluster(PRIMARY, retention_days=379)
    estate.layer.faults = [Fault("hang", operation="AssumeRole", hang_seconds=2)]
    # When the audit runs
    report = run_scan(
        estate,
        role_arns=[role(MEMBER_A), role(MEMBER_B)],
        limits=ClientLimits(connect_timeout=1, read_timeout=5, max_attempts=1),
    )
    # Then both roles were asked at once, not one after the other, and all three
    # accounts are audited in the order given
    first, second = (call.at for call in estate.layer.calls_to("AssumeRole"))
    assert abs(first - second) < 1
    assert report.status is not Status.INCOMPLETE
    assert report.scope.accounts == (ACCOUNT, MEMBER_A, MEMBER_B)


def test_account_set_up_that_hangs_counts_against_the_deadline(estate: Estate) -> None:
    # Given GetCallerIdentity and two AssumeRoles that hang for 8 s, 5 s read timeouts,
    # and a run bounded to 1.5 s
    estate.layer.faults = [
        Fault("hang", operation="GetCallerIdentity", hang_seconds=8),
        Fault("hang", operation="AssumeRole", hang_seconds=8),
    ]
    limits = ClientLimits(connect_timeout=1, read_timeout=5, max_attempts=1)
    started = time.monotonic()
    # When the audit runs
    report = run_scan(
        estate,
        role_arns=[role(MEMBER_A), role(MEMBER_B)],
        limits=limits,
        should_stop=Deadline(1.5).should_stop,
    )
    # Then it returned soon after the deadline (not after 3 timeouts in a row, 15 s),
    # each account that could not be set up being a DeadlineExceeded entry
    assert time.monotonic() - started < 4
    assert report.status is Status.INCOMPLETE
    assert report_errors(report) == {
        ("unknown", "global", "GetCallerIdentity", "DeadlineExceeded"),
        (MEMBER_A, "global", "AssumeRole", "DeadlineExceeded"),
        (MEMBER_B, "global", "AssumeRole", "DeadlineExceeded"),
    }
    assert estate.layer.calls_to("DescribeBackups") == []

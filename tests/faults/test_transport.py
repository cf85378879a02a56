"""Transport faults: throttling, 5xx, refused, reset mid-page, an endpoint that never answers.

Each ends with the true status, an error entry naming account, region and operation,
every backup that was read still reported, no crash, in bounded time."""

from __future__ import annotations

import socket
import time
from typing import Any

import boto3
import pytest

from hsm_backup_audit.aws.cloudhsm import DEFAULT_LIMITS, ClientLimits
from hsm_backup_audit.constants import RETRY_MODE, ExitCode, Status
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Fault

from .conftest import (
    ACCOUNT,
    PRIMARY_BACKUPS,
    SECONDARY_BACKUPS,
    Estate,
    finding_ids,
    page_after_first,
    report_errors,
    run_cli,
    run_scan,
)

LAMBDA_TIMEOUT_SECONDS = 15 * 60


def assert_primary_lost_secondary_reported(report: Any, estate: Estate, code: str) -> None:
    assert report.status is Status.INCOMPLETE
    assert (ACCOUNT, PRIMARY, "DescribeBackups", code) in report_errors(report)
    assert {e.region for e in report.errors} == {PRIMARY}
    assert report.by_region.get(SECONDARY) == SECONDARY_BACKUPS
    assert estate.non_fips in {f.backup_id for f in report.findings}


def test_a_throttling_burst_is_retried_and_the_run_completes(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the first 4 DescribeBackups calls and every 3rd DescribeClusters call throttled
    estate.layer.faults = [
        Fault("throttle", operation="DescribeBackups", times=4),
        Fault("throttle", operation="DescribeClusters", every=3),
    ]
    # When the CLI audits both regions
    code, document = run_cli(capsys, estate)
    # Then the burst cost retries, not completeness: every backup, both findings, no error
    assert sum(1 for f in estate.layer.faults for _ in range(f.fired)) >= 4
    assert document["errors"] == []
    assert code == ExitCode.NON_COMPLIANT
    assert document["summary"]["backups_scanned"] == estate.total
    assert {estate.pinned, estate.non_fips} <= set(finding_ids(document))


@pytest.mark.parametrize("action", ["error500", "error503"])
def test_a_transient_server_error_is_retried(estate: Estate, action: str) -> None:
    # Given two 5xx answers in a row on page 2 of PRIMARY's backups
    estate.layer.faults = [Fault(action, region=PRIMARY, when=page_after_first, times=2)]
    # When the audit runs
    report = run_scan(estate)
    # Then the retries hide them: the run is complete and saw everything
    assert estate.layer.faults[0].fired == 2
    assert report.errors == []
    assert report.status is Status.NON_COMPLIANT
    assert report.backups_scanned == estate.total


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("error500", "CloudHsmInternalFailureException"),
        ("error503", "ServiceUnavailableException"),
        ("throttle", "ThrottlingException"),
    ],
)
def test_a_region_that_keeps_failing_is_an_error_entry(
    estate: Estate, action: str, code: str
) -> None:
    # Given PRIMARY's DescribeBackups failing on every attempt
    estate.layer.faults = [Fault(action, region=PRIMARY, operation="DescribeBackups")]
    # When the audit runs
    started = time.monotonic()
    report = run_scan(estate)
    # Then INCOMPLETE, with an entry naming account, region and operation, after exactly
    # the configured attempts; SECONDARY is still reported in full, in bounded time
    assert_primary_lost_secondary_reported(report, estate, code)
    calls = estate.layer.calls_to("DescribeBackups")
    assert len([c for c in calls if c.region == PRIMARY]) == 2 * 3  # owned + shared, 3 tries
    assert time.monotonic() - started < 10


def test_a_connection_reset_mid_page_is_retried(estate: Estate) -> None:
    # Given the connection dropped halfway through the answer to page 2, once
    estate.layer.faults = [Fault("reset", region=PRIMARY, when=page_after_first, times=1)]
    # When the audit runs
    report = run_scan(estate)
    # Then botocore retried the page and the run is complete
    assert estate.layer.faults[0].fired == 1
    assert report.errors == []
    assert report.backups_scanned == estate.total


def test_connections_reset_on_every_try_keep_what_page_one_gave(estate: Estate) -> None:
    # Given PRIMARY dropping every connection from page 2 on
    estate.layer.faults = [Fault("reset", region=PRIMARY, when=page_after_first)]
    # When the audit runs
    report = run_scan(estate)
    # Then INCOMPLETE with the connection error named, and page 1 (with its NeverExpires
    # backup) still reported next to all of SECONDARY
    assert_primary_lost_secondary_reported(report, estate, "ConnectionClosedError")
    assert report.by_region[PRIMARY] == 50
    assert estate.pinned in {f.backup_id for f in report.findings}


class _OneRegionRefused(boto3.session.Session):  # type: ignore[misc]  # boto3: no stubs
    """A session whose CloudHSM client for one region points at a port nobody listens on."""

    def __init__(self, refused_region: str, closed_url: str) -> None:
        super().__init__()
        self.refused_region, self.closed_url = refused_region, closed_url

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name == "cloudhsmv2" and kwargs.get("region_name") == self.refused_region:
            kwargs["endpoint_url"] = self.closed_url
        return super().client(service_name, *args, **kwargs)


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: connections are refused


def test_connection_refused_in_one_region(estate: Estate, closed_url: str) -> None:
    # Given SECONDARY's endpoint refusing connections
    session = _OneRegionRefused(SECONDARY, closed_url)
    # When the audit runs
    started = time.monotonic()
    report = run_scan(estate, session=session)
    # Then every SECONDARY listing is an error entry, PRIMARY is reported in full
    assert report.status is Status.INCOMPLETE
    assert report_errors(report) == {
        (ACCOUNT, SECONDARY, "DescribeClusters", "EndpointConnectionError"),
        (ACCOUNT, SECONDARY, "DescribeBackups", "EndpointConnectionError"),
    }
    assert len(report.errors) == 3  # clusters, owned, shared
    assert report.by_region == {PRIMARY: PRIMARY_BACKUPS}
    assert estate.pinned in {f.backup_id for f in report.findings}
    assert time.monotonic() - started < 10


def test_an_endpoint_that_never_answers_times_out(estate: Estate) -> None:
    # Given SECONDARY accepting connections and then saying nothing for 8 s
    estate.layer.faults = [Fault("hang", region=SECONDARY, hang_seconds=8)]
    limits = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=2)
    # When the audit runs with half-second read timeouts and two attempts
    started = time.monotonic()
    report = run_scan(estate, limits=limits)
    elapsed = time.monotonic() - started
    # Then it gave up on SECONDARY after the timeouts, not after the hang
    assert report.status is Status.INCOMPLETE
    assert {(e.region, e.code) for e in report.errors} == {(SECONDARY, "ReadTimeoutError")}
    assert {e.operation for e in report.errors} == {"DescribeClusters", "DescribeBackups"}
    assert report.by_region == {PRIMARY: PRIMARY_BACKUPS}
    assert elapsed < 8


def worst_call_seconds(limits: ClientLimits) -> float:
    """Every attempt times out after connecting and reading, and botocore's standard
    backoff (at most 2**attempt seconds, capped at 20 s) sits between attempts."""
    backoff = sum(min(2.0**attempt, 20.0) for attempt in range(1, limits.max_attempts))
    return limits.max_attempts * (limits.connect_timeout + limits.read_timeout) + backoff


def test_the_shipped_limits_bound_one_hanging_call_well_inside_a_lambda_run() -> None:
    # Given the limits every client is built with, in production
    limits = DEFAULT_LIMITS
    # Then one call that hangs on every attempt ends in at most a quarter of the
    # Lambda's 15 minutes, and the retry mode is one botocore knows
    assert worst_call_seconds(limits) <= LAMBDA_TIMEOUT_SECONDS / 4
    assert limits.connect_timeout > 0 and limits.read_timeout > 0
    assert RETRY_MODE in {"standard", "adaptive"}

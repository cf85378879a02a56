"""The command line end to end against a moto server, as a user would run it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def healthy(fleet: Fleet, region: str, now: datetime, days: int = 10) -> str:
    cluster = fleet.add_cluster(region, retention_days=379)
    fleet.add_daily_backups(region, cluster, days=days, now=now)
    return cluster


def test_compliant_exit_0_and_pages_never_ask_for_more_than_the_api_allows(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given 260 healthy backups (6 pages) behind a moto server
    url, fleet = server_fleet
    now = datetime.now().astimezone()
    healthy(fleet, PRIMARY, now, days=260)
    # When the CLI scans it
    code, document = run(capsys, "--endpoint-url", url, "--region", PRIMARY)
    # Then it is compliant, and every call asked for exactly the API maximum
    assert code == ExitCode.COMPLIANT
    assert document["status"] == "COMPLIANT"
    assert document["summary"]["backups_scanned"] == 260
    backups_calls = fleet_server.layer.calls_to("DescribeBackups")
    assert {c.params.get("MaxResults") for c in backups_calls} == {50}
    assert len([c for c in backups_calls if not c.params.get("Shared")]) == 6
    assert {
        c.params.get("MaxResults") for c in fleet_server.layer.calls_to("DescribeClusters")
    } == {25}


def test_non_compliant_exit_1(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str]
) -> None:
    url, fleet = server_fleet
    now = datetime.now().astimezone()
    cluster = healthy(fleet, PRIMARY, now)
    fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=2), mode="NON_FIPS")
    code, document = run(capsys, "--endpoint-url", url, "--region", PRIMARY)
    assert code == ExitCode.NON_COMPLIANT
    assert document["summary"]["by_rule"] == {"mode": 1}


def test_one_region_failing_is_incomplete_exit_3_and_the_others_are_still_reported(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a non-compliant backup in one region, and a second region that denies access
    url, fleet = server_fleet
    now = datetime.now().astimezone()
    cluster = healthy(fleet, PRIMARY, now)
    fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=1), never_expires=True)
    healthy(fleet, SECONDARY, now)
    fleet_server.layer.faults = [Fault("deny", operation="DescribeBackups", region=SECONDARY)]
    # When both are scanned
    code, document = run(capsys, "--endpoint-url", url, "--region", PRIMARY, "--region", SECONDARY)
    # Then INCOMPLETE wins, the failing listings are named, and the first region is reported
    assert code == ExitCode.INCOMPLETE
    assert document["status"] == "INCOMPLETE"
    assert {(e["region"], e["operation"], e["code"]) for e in document["errors"]} == {
        (SECONDARY, "DescribeBackups", "CloudHsmAccessDeniedException")
    }
    assert len(document["errors"]) == 2  # owned and shared listings
    assert document["summary"]["by_rule"] == {"never-expires": 1}
    assert document["summary"]["by_region"][PRIMARY]["backups_scanned"] == 11


def test_a_repeating_next_token_ends_the_listing_with_an_error_not_a_loop(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a server that always answers with the same NextToken
    url, fleet = server_fleet
    healthy(fleet, PRIMARY, datetime.now().astimezone(), days=120)

    def stuck(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "NextToken": "same-token-forever"}

    fleet_server.layer.faults = [Fault("mutate", operation="DescribeBackups", mutate=stuck)]
    # When scanned
    code, document = run(capsys, "--endpoint-url", url, "--region", PRIMARY)
    # Then the listings stop after the token repeats, with an error entry, and exit 3
    assert code == ExitCode.INCOMPLETE
    assert {e["code"] for e in document["errors"]} == {"RepeatedNextToken"}
    assert len(fleet_server.layer.calls_to("DescribeBackups")) <= 6
    assert document["summary"]["backups_scanned"] == 50


def test_text_is_the_default_format(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str]
) -> None:
    url, fleet = server_fleet
    healthy(fleet, PRIMARY, datetime.now().astimezone())
    code = main(["scan", "--endpoint-url", url, "--region", PRIMARY])
    out = capsys.readouterr().out
    assert code == ExitCode.COMPLIANT
    assert out.startswith("CloudHSM backup audit: COMPLIANT\n")
    assert "No findings: every backup meets the policy." in out


def test_no_region_anywhere_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert main(["scan"]) == ExitCode.USAGE
    assert (
        capsys.readouterr().err
        == "hsm-backup-audit: error: no region: pass --region or set AWS_REGION\n"
    )


def test_demo_runs_offline_and_shows_every_kind_of_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "never-expires",
        "mode",
        "stale-cluster",
        "hsm-type",
        "retention-policy",
        "overdue",
        "pending-deletion",
    ):
        assert f"] {heading} (" in out
    assert "would exit 1: NON_COMPLIANT" in out

"""An estate behind the fault layer, and the ways to audit it: the CLI and `scan()`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.cli import main
from hsm_backup_audit.engine.audit import Report
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Call, FaultLayer, FleetServer

# Small enough that a fault costs well under a second or two, big enough to retry once.
FAST = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=3)
ACCOUNT = DEFAULT_ACCOUNT
PRIMARY_BACKUPS = 120  # three pages of 50, 50 and 20
SECONDARY_BACKUPS = 11


@dataclass
class Estate:
    """Two regions, one known finding in each, so "still reported" can be checked.

    PRIMARY: one cluster, 120 daily backups; the second newest (page 1) is NeverExpires.
    SECONDARY: one cluster, 10 daily backups and a NON_FIPS one 2 days old."""

    url: str
    fleet: Fleet
    layer: FaultLayer
    now: datetime
    pinned: str
    non_fips: str

    @property
    def total(self) -> int:
        return PRIMARY_BACKUPS + SECONDARY_BACKUPS


@pytest.fixture
def estate(server_fleet: tuple[str, Fleet], fleet_server: FleetServer) -> Estate:
    url, fleet = server_fleet
    now = datetime.now(UTC)
    primary = fleet.add_cluster(PRIMARY, retention_days=379)
    ids = fleet.add_daily_backups(PRIMARY, primary, days=PRIMARY_BACKUPS, now=now)
    fleet.backend(PRIMARY).backups[ids[1]].never_expires = True
    secondary = fleet.add_cluster(SECONDARY, retention_days=379)
    fleet.add_daily_backups(SECONDARY, secondary, days=SECONDARY_BACKUPS - 1, now=now)
    non_fips = fleet.add_backup(
        SECONDARY, secondary, created=now - timedelta(days=2), mode="NON_FIPS"
    )
    return Estate(url, fleet, fleet_server.layer, now, ids[1], non_fips)


def run_cli(
    capsys: pytest.CaptureFixture[str], estate: Estate, *args: str
) -> tuple[int, dict[str, Any]]:
    """The command line as a user runs it: both regions, JSON out. (exit code, document)"""
    code = main(
        [
            "scan",
            "--format",
            "json",
            "--endpoint-url",
            estate.url,
            "--region",
            PRIMARY,
            "--region",
            SECONDARY,
            *args,
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def run_scan(estate: Estate, **changes: Any) -> Report:
    """`scan()` over both regions with FAST client limits, unless told otherwise."""
    fields: dict[str, Any] = {
        "regions": [PRIMARY, SECONDARY],
        "policy": Policy(),
        "endpoint_url": estate.url,
        "now": estate.now,
        "limits": FAST,
    }
    fields.update(changes)
    return scan(ScanRequest(**fields))


SCHEMA = Draft202012Validator(
    json.loads((files("hsm_backup_audit") / "report.schema.json").read_text())
)


def errors_of(document: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["account_id"], e["region"], e["operation"], e["code"]) for e in document["errors"]}


def report_errors(report: Report) -> set[tuple[str, str, str, str]]:
    return {(e.account_id, e.region, e.operation, e.code) for e in report.errors}


def finding_ids(document: dict[str, Any]) -> dict[str | None, set[str]]:
    """backup id (None for a cluster) -> the rules that fired for it."""
    found: dict[str | None, set[str]] = {}
    for finding in document["findings"]:
        found.setdefault(finding["backup_id"], set()).add(finding["rule"])
    return found


def policy_file(tmp_path: Path, **document: Any) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def page_after_first(call: Call) -> bool:
    """Calls that carry a NextToken: page 2 onwards."""
    return bool(call.params.get("NextToken"))


def each_backup(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    """A mutate function that applies `change` to every backup of an answer."""

    def mutate(answer: dict[str, Any]) -> dict[str, Any]:
        for backup in answer.get("Backups") or []:
            change(backup)
        return answer

    return mutate

"""Only cells read completely decide: a finding whose cell this run did not read is "not
checked this run" (never resolved, never archived), whatever made it unreadable, and a
policy that stops a listing makes its findings "no longer audited", never fixed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, describe_regions_answer
from hsm_backup_audit_demo.sharing import honour_shared, share

from .conftest import ACCOUNT, SCHEMA, Estate, policy_file

MEMBER = "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
OPTED_IN = "ap-east-1"


def scan_json(
    capsys: pytest.CaptureFixture[str], estate: Estate, *args: str
) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--format", "json", "--endpoint-url", estate.url, *args])
    document = json.loads(capsys.readouterr().out)
    SCHEMA.validate(document)
    return code, document


def saved(tmp_path: Path, document: dict[str, Any], name: str = "baseline.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def ids_in(entries: list[dict[str, Any]]) -> set[str]:
    return {entry["id"] for entry in entries}


def findings_of(document: dict[str, Any], account: str, region: str | None = None) -> set[str]:
    return {
        f["id"]
        for f in document["findings"]
        if f["account_id"] == account and (region is None or f["region"] == region)
    }


def regions(*enabled: str) -> Fault:
    statuses = dict.fromkeys(enabled, "opt-in-not-required")
    return Fault("reply", operation="DescribeRegions", reply=describe_regions_answer(statuses))


def test_a_member_whose_regions_cannot_be_listed_resolves_nothing(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a member with a pinned backup in SECONDARY, audited with `--region all`
    member = Fleet(MEMBER)
    cluster = member.add_cluster(SECONDARY, retention_days=379)
    member.add_daily_backups(SECONDARY, cluster, days=2, now=estate.now)
    member.add_backup(
        SECONDARY, cluster, created=estate.now - timedelta(days=1), never_expires=True
    )
    estate.layer.faults = [regions(PRIMARY, SECONDARY)]
    _, first = scan_json(capsys, estate, "--region", "all", "--role-arn", ROLE)
    before = findings_of(first, MEMBER)
    assert before, "the member's findings are in the baseline"
    # When DescribeRegions is denied for the member only (its region stays in the run's
    # scope through the caller's account; the error entry names the home region)
    estate.layer.faults = [
        Fault("deny", operation="DescribeRegions", when=lambda c: c.access_key != "testing"),
        regions(PRIMARY, SECONDARY),
    ]
    code, document = scan_json(
        capsys, estate, "--region", "all", "--role-arn", ROLE, "--baseline", saved(tmp_path, first)
    )
    # Then the run is INCOMPLETE, and the member's findings are not checked, not resolved
    assert code == ExitCode.INCOMPLETE
    changes = document["changes"]
    assert ids_in(changes["not_checked"]) == before
    assert not ids_in(changes["resolved"]) & before
    # And coverage names every cell of the member it did not read, with that error
    not_read = {
        (c["account_id"], c["region"], c["listing"]) for c in document["coverage"]["not_read"]
    }
    assert {(MEMBER, SECONDARY, k) for k in ("clusters", "owned", "shared")} <= not_read
    errors = {c["error"]["operation"] for c in document["coverage"]["not_read"]}
    assert errors == {"DescribeRegions"}


def test_a_region_no_longer_enabled_leaves_its_findings_not_checked(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a pinned backup in a region enabled for the account
    cluster = estate.fleet.add_cluster(OPTED_IN, retention_days=379)
    estate.fleet.add_daily_backups(OPTED_IN, cluster, days=2, now=estate.now)
    estate.fleet.add_backup(
        OPTED_IN, cluster, created=estate.now - timedelta(days=1), never_expires=True
    )
    estate.layer.faults = [regions(PRIMARY, SECONDARY, OPTED_IN)]
    _, first = scan_json(capsys, estate, "--region", "all")
    there = findings_of(first, ACCOUNT, OPTED_IN)
    assert there
    # When the region is no longer enabled
    estate.layer.faults = [regions(PRIMARY, SECONDARY)]
    _, document = scan_json(capsys, estate, "--region", "all", "--baseline", saved(tmp_path, first))
    # Then its findings are not checked this run: neither resolved nor new
    assert OPTED_IN in document["scope"]["regions_not_enabled"][ACCOUNT]
    assert ids_in(document["changes"]["not_checked"]) == there
    assert not ids_in(document["changes"]["resolved"]) & there


def test_a_denied_listing_leaves_its_cell_not_read_and_its_findings_not_checked(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a baseline with the NON_FIPS finding of SECONDARY
    _, first = scan_json(capsys, estate, "--region", PRIMARY, "--region", SECONDARY)
    secondary = findings_of(first, ACCOUNT, SECONDARY)
    assert secondary
    # When SECONDARY's backups cannot be listed (denied; the deadline and throttling are
    # in the property test)
    estate.layer.faults = [Fault("deny", operation="DescribeBackups", region=SECONDARY)]
    code, document = scan_json(
        capsys,
        estate,
        "--region",
        PRIMARY,
        "--region",
        SECONDARY,
        "--baseline",
        saved(tmp_path, first),
    )
    # Then nothing there is resolved, and coverage says which cells were read
    assert code == ExitCode.INCOMPLETE
    assert ids_in(document["changes"]["not_checked"]) == secondary
    read = {(c["account_id"], c["region"], c["listing"]) for c in document["coverage"]["read"]}
    assert (ACCOUNT, PRIMARY, "owned") in read
    assert (ACCOUNT, SECONDARY, "owned") not in read
    assert (ACCOUNT, SECONDARY, "clusters") in read


def test_resolved_findings_say_why_they_left(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a baseline with a pinned backup, a NON_FIPS one, and a cluster without backups
    fleet = estate.fleet
    bare = fleet.add_cluster(PRIMARY, retention_days=3)  # retention-policy finding
    _, first = scan_json(capsys, estate, "--region", PRIMARY, "--region", SECONDARY)
    by_subject = {
        (f["rule"], f["backup_id"] or f["cluster_id"]): f["id"] for f in first["findings"]
    }
    # When the pinned backup is fixed, the NON_FIPS one deleted, and the cluster deleted
    fleet.backend(PRIMARY).backups[estate.pinned].never_expires = False
    del fleet.backend(SECONDARY).backups[estate.non_fips]
    del fleet.backend(PRIMARY).clusters[bare]
    _, document = scan_json(
        capsys,
        estate,
        "--region",
        PRIMARY,
        "--region",
        SECONDARY,
        "--baseline",
        saved(tmp_path, first),
    )
    reasons = {r["id"]: r["reason"] for r in document["changes"]["resolved"]}
    # Then each resolved finding carries its reason
    assert reasons[by_subject[("never-expires", estate.pinned)]] == "fixed"
    assert reasons[by_subject[("mode", estate.non_fips)]] == "backup deleted"
    assert reasons[by_subject[("retention-policy", bare)]] == "cluster deleted"


def test_an_exemption_added_is_the_reason(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, first = scan_json(capsys, estate, "--region", PRIMARY)
    pinned = next(f["id"] for f in first["findings"] if f["backup_id"] == estate.pinned)
    exempt = policy_file(
        tmp_path,
        exemptions=[
            {
                "backup_id": estate.pinned,
                "rules": ["never-expires"],
                "reason": "legal hold",
                "expires": "2099-01-01",
            }
        ],
    )
    _, document = scan_json(
        capsys,
        estate,
        "--region",
        PRIMARY,
        "--policy",
        exempt,
        "--baseline",
        saved(tmp_path, first),
    )
    reasons = {r["id"]: r["reason"] for r in document["changes"]["resolved"]}
    assert reasons[pinned] == "exemption added"


def test_a_policy_that_stops_reading_shared_backups_archives_nothing(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a member's pinned backup shared with the caller, imported into Security Hub
    hub = securityhub_backends[ACCOUNT][PRIMARY]
    hub.findings.clear()
    member = Fleet(MEMBER)
    cluster = member.add_cluster(PRIMARY, retention_days=379)
    member.add_daily_backups(PRIMARY, cluster, days=2, now=estate.now)
    pinned = member.add_backup(
        PRIMARY, cluster, created=estate.now - timedelta(days=1), never_expires=True
    )
    share(MEMBER, PRIMARY, pinned, ACCOUNT)
    with honour_shared():
        _, first = scan_json(capsys, estate, "--region", PRIMARY, "--security-hub")
        shared = {f["id"] for f in first["findings"] if f["shared"]}
        assert shared
        # When the policy stops reading shared backups
        _, document = scan_json(
            capsys,
            estate,
            "--region",
            PRIMARY,
            "--security-hub",
            "--policy",
            policy_file(tmp_path, include_shared=False),
            "--baseline",
            saved(tmp_path, first),
        )
    # Then they are "no longer audited", never archived in Security Hub
    reasons = {r["id"]: r["reason"] for r in document["changes"]["resolved"]}
    assert {reasons[i] for i in shared} == {"no longer audited"}
    states = {f.id.removeprefix("hsm-backup-audit/"): f.data["RecordState"] for f in hub.findings}
    assert {states[i] for i in shared} == {"ACTIVE"}

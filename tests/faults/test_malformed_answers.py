"""Malformed answers, through the command line: missing fields, nulls, unknown enum values,
timestamps from the future, broken pages and NextTokens. A value that is missing or not
understood is never taken as compliant, and a listing that cannot be trusted is an error."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Call, Fault

from .conftest import (
    ACCOUNT,
    PRIMARY_BACKUPS,
    SECONDARY_BACKUPS,
    Estate,
    each_backup,
    errors_of,
    finding_ids,
    page_after_first,
    policy_file,
    run_cli,
)


@pytest.fixture
def owned_only(tmp_path: Path) -> list[str]:
    """Shared listings off: in moto they return the owned backups again, unmutated."""
    return ["--policy", policy_file(tmp_path, include_shared=False)]


def test_missing_and_null_fields_are_never_compliant(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given the non-FIPS backup's neighbour loses its fields, some absent, some null
    target = estate.fleet.add_backup(
        SECONDARY, estate.fleet.add_cluster(SECONDARY), created=estate.now - timedelta(hours=3)
    )

    def strip(backup: dict[str, Any]) -> None:
        if backup.get("BackupId") == target:
            for key in ("Mode", "HsmType", "CreateTimestamp"):
                backup.pop(key, None)
            backup["NeverExpires"] = None
            backup["BackupState"] = None

    estate.layer.faults = [Fault("mutate", operation="DescribeBackups", mutate=each_backup(strip))]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then that backup fires every rule that needs a value it lacks
    assert code == ExitCode.NON_COMPLIANT
    assert finding_ids(document)[target] == {
        "never-expires",
        "mode",
        "hsm-type",
        "overdue",
        "unknown-state",
    }
    assert document["summary"]["backups_scanned"] == estate.total + 1


def test_backups_without_any_identity_are_each_counted_and_judged(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given every SECONDARY backup comes back without BackupId and BackupArn
    def anonymise(backup: dict[str, Any]) -> None:
        backup.pop("BackupId", None)
        backup["BackupArn"] = None

    estate.layer.faults = [
        Fault(
            "mutate", region=SECONDARY, operation="DescribeBackups", mutate=each_backup(anonymise)
        )
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then none is folded into another: all are counted and the NON_FIPS one still fires
    assert code == ExitCode.NON_COMPLIANT
    assert document["summary"]["by_region"][SECONDARY]["backups_scanned"] == SECONDARY_BACKUPS
    assert document["summary"]["by_rule"]["mode"] == 1
    assert finding_ids(document)["(missing)"] == {"mode"}


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("BackupState", "ARCHIVED", "unknown-state"),
        ("Mode", "FIPS_140_3", "mode"),
        ("HsmType", "hsm3.large", "hsm-type"),
    ],
)
def test_an_unknown_enum_value_is_never_compliant(
    estate: Estate,
    capsys: pytest.CaptureFixture[str],
    owned_only: list[str],
    field: str,
    value: str,
    rule: str,
) -> None:
    # Given one otherwise compliant backup carries a value the API has not documented
    def change(backup: dict[str, Any]) -> None:
        if backup.get("BackupId") == estate.pinned:
            backup["NeverExpires"] = False
            backup[field] = value

    estate.layer.faults = [Fault("mutate", operation="DescribeBackups", mutate=each_backup(change))]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then exactly that rule fires for it, and the run is not compliant
    assert code == ExitCode.NON_COMPLIANT
    assert finding_ids(document)[estate.pinned] == {rule}


def test_a_future_timestamp_cannot_make_a_stale_cluster_look_fresh(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given a cluster whose real newest backup is 5 days old, plus one stamped tomorrow,
    # and a cluster with no backup that claims to have been created tomorrow
    fleet, now = estate.fleet, estate.now
    stale = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, stale, days=3, now=now - timedelta(days=5))
    future = fleet.add_backup(PRIMARY, stale, created=now + timedelta(days=1))
    unborn = fleet.add_cluster(PRIMARY, retention_days=379, created=now + timedelta(days=1))
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then both clusters are stale, and the future backup's age is reported as unknowable
    assert code == ExitCode.NON_COMPLIANT
    stale_clusters = {f["cluster_id"] for f in document["findings"] if f["rule"] == "stale-cluster"}
    assert stale_clusters == {stale, unborn}
    overdue = [f for f in document["findings"] if f["backup_id"] == future]
    assert [f["rule"] for f in overdue] == ["overdue"]
    assert "in the future" in overdue[0]["message"]


@pytest.mark.parametrize("broken", [None, "not-a-list"])
def test_a_page_without_its_list_is_an_error_not_an_empty_region(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str], broken: Any
) -> None:
    # Given SECONDARY answers with Backups null (or not a list)
    def drop(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "Backups": broken}

    estate.layer.faults = [
        Fault("mutate", region=SECONDARY, operation="DescribeBackups", mutate=drop)
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then SECONDARY is an error entry, never "no backups, compliant"; PRIMARY is reported
    assert code == ExitCode.INCOMPLETE
    (error,) = errors_of(document)
    assert error[:3] == (ACCOUNT, SECONDARY, "DescribeBackups")
    assert document["summary"]["backups_scanned"] == PRIMARY_BACKUPS


def test_a_garbled_timestamp_fails_its_listing_only(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given page 2 of PRIMARY carries timestamps botocore cannot parse
    def garble(backup: dict[str, Any]) -> None:
        backup["CreateTimestamp"] = "yesterday-ish"

    estate.layer.faults = [
        Fault("mutate", region=PRIMARY, when=page_after_first, mutate=each_backup(garble))
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then PRIMARY's backups listing is an error entry; page 1 and SECONDARY are reported
    assert code == ExitCode.INCOMPLETE
    assert {e[:3] for e in errors_of(document)} == {(ACCOUNT, PRIMARY, "DescribeBackups")}
    assert document["summary"]["backups_scanned"] == 50 + SECONDARY_BACKUPS
    assert {estate.pinned, estate.non_fips} <= set(finding_ids(document))


def test_an_empty_page_that_carries_a_next_token_is_followed(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given PRIMARY's first page comes back empty but with its NextToken
    def empty(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "Backups": []}

    def first_page(call: Call) -> bool:
        return call.region == PRIMARY and not call.params.get("NextToken")

    estate.layer.faults = [
        Fault("mutate", operation="DescribeBackups", when=first_page, mutate=empty)
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then the listing goes on to the later pages; nothing crashes or loops
    assert document["summary"]["by_region"][PRIMARY]["backups_scanned"] == PRIMARY_BACKUPS - 50
    assert len([c for c in estate.layer.calls_to("DescribeBackups") if c.region == PRIMARY]) == 3
    assert code == ExitCode.NON_COMPLIANT


def test_endless_empty_pages_with_fresh_tokens_end_in_an_error(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given PRIMARY answering empty pages, each with a new NextToken (for 100 calls)
    tokens = itertools.count()

    def endless(answer: dict[str, Any]) -> dict[str, Any]:
        return {"Backups": [], "NextToken": f"token-{next(tokens)}"}

    estate.layer.faults = [
        Fault("mutate", region=PRIMARY, operation="DescribeBackups", mutate=endless, times=100)
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then the listing is cut short as malformed, long before the fault runs dry
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {(ACCOUNT, PRIMARY, "DescribeBackups", "MalformedResponse")}
    assert estate.layer.faults[0].fired < 100


def test_the_same_backup_on_two_pages_counts_once(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given the NeverExpires backup, seen on page 1, also slipped into pages 2 and 3
    first: dict[str, Any] = {}

    def repeat(answer: dict[str, Any]) -> dict[str, Any]:
        for backup in answer.get("Backups") or []:
            if backup.get("BackupId") == estate.pinned:
                first.update(backup)
        if first and answer["Backups"] and first not in answer["Backups"]:
            answer["Backups"].append(dict(first))
        return answer

    estate.layer.faults = [
        Fault("mutate", region=PRIMARY, operation="DescribeBackups", mutate=repeat)
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then it is counted once and has one finding
    assert code == ExitCode.NON_COMPLIANT
    assert document["summary"]["backups_scanned"] == estate.total
    assert document["summary"]["by_rule"]["never-expires"] == 1


@pytest.mark.parametrize("tokens", [["tok-1"], ["tok-A", "tok-B"]], ids=["repeat", "cycle"])
def test_a_next_token_that_comes_back_ends_the_listing_with_an_error(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str], tokens: list[str]
) -> None:
    # Given PRIMARY's NextTokens going round in a loop (same, same, ... or A, B, A, ...)
    loop = itertools.cycle(tokens)

    def circle(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer, "NextToken": next(loop)}

    estate.layer.faults = [
        Fault("mutate", region=PRIMARY, operation="DescribeBackups", mutate=circle, times=50)
    ]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then the loop is caught at once; the page already read is still reported
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {(ACCOUNT, PRIMARY, "DescribeBackups", "RepeatedNextToken")}
    assert estate.pinned in finding_ids(document)
    assert estate.layer.faults[0].fired == len(tokens) + 1
    assert "tok-" not in document["errors"][0]["message"]  # no token quoted back


def test_a_garbled_cloudhsm_answer_is_malformed_not_empty(
    estate: Estate, capsys: pytest.CaptureFixture[str], owned_only: list[str]
) -> None:
    # Given SECONDARY's backups answered with an HTML page and 200 OK (a captive proxy)
    estate.layer.faults = [Fault("garble", region=SECONDARY, operation="DescribeBackups")]
    # When the CLI audits
    code, document = run_cli(capsys, estate, *owned_only)
    # Then that listing is an error entry, never "no backups here"
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {(ACCOUNT, SECONDARY, "DescribeBackups", "MalformedResponse")}
    assert document["summary"]["backups_scanned"] == PRIMARY_BACKUPS


def test_a_garbled_sts_answer_is_an_error_entry_not_a_traceback(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given GetCallerIdentity answered with an HTML page that no XML parser reads
    estate.layer.faults = [Fault("garble", operation="GetCallerIdentity")]
    # When the CLI audits
    code, document = run_cli(capsys, estate)
    # Then exit 3 with one global entry for the identity call
    assert code == ExitCode.INCOMPLETE
    assert {e[:3] for e in errors_of(document)} == {("unknown", "global", "GetCallerIdentity")}

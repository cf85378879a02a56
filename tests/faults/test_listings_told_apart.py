"""The owned and the shared DescribeBackups listings fail as different error entries, in
the JSON report (`listing`) and in the text (`DescribeBackups (shared)`)."""

from __future__ import annotations

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Fault

from .conftest import ACCOUNT, SCHEMA, Estate, run_cli


def shared_only(call: object) -> bool:
    return bool(getattr(call, "params", {}).get("Shared"))


def test_a_failing_shared_listing_is_named_as_the_shared_one(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the shared-backups listing of SECONDARY denied, its owned listing fine
    estate.layer.faults = [
        Fault("deny", operation="DescribeBackups", region=SECONDARY, when=shared_only)
    ]
    # When the CLI runs, in JSON and in text
    code, document = run_cli(capsys, estate)
    text_code = main(["scan", "--endpoint-url", estate.url, "--region", SECONDARY])
    text = capsys.readouterr().out
    # Then the entry says which listing failed, and the text line says so too
    assert code == text_code == ExitCode.INCOMPLETE
    assert document["errors"] == [
        {
            "account_id": ACCOUNT,
            "region": SECONDARY,
            "operation": "DescribeBackups",
            "code": "CloudHsmAccessDeniedException",
            "message": "User is not authorized",
            "listing": "shared",
        }
    ]
    SCHEMA.validate(document)
    assert f"{ACCOUNT} {SECONDARY} DescribeBackups (shared):" in text


def test_both_listings_failing_are_two_entries_that_differ(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every backup listing of PRIMARY failing the same way
    estate.layer.faults = [Fault("expired", operation="DescribeBackups", region=PRIMARY)]
    # When the CLI runs
    code, document = run_cli(capsys, estate)
    # Then two entries, told apart by the listing (before, two identical entries)
    assert code == ExitCode.INCOMPLETE
    assert sorted(e["listing"] for e in document["errors"]) == ["owned", "shared"]
    assert len({tuple(sorted(e.items())) for e in document["errors"]}) == 2

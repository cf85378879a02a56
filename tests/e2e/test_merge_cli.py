"""`hsm-backup-audit merge`: shards scanned on their own, merged on the command line."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.sharing import honour_shared, share
from tests.e2e.special_files import SPECIAL_FILES, special_path

OWNER, VIEWER = "111111111111", "222222222222"


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/hsm-backup-audit-member"


def scan(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str]:
    code = main(["scan", "--endpoint-url", url, "--region", PRIMARY, *args])
    return code, capsys.readouterr().out


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "generated_at"}


@pytest.fixture
def shared_fleet(server_fleet: tuple[str, Fleet]) -> Any:
    """The caller's healthy cluster; a member whose old backup is shared with another."""
    url, caller = server_fleet
    now = datetime.now(UTC)
    with honour_shared():
        caller.add_daily_backups(PRIMARY, caller.add_cluster(PRIMARY), days=3, now=now)
        owner = Fleet(OWNER)
        cluster = owner.add_cluster(PRIMARY, retention_days=30)
        owner.add_daily_backups(PRIMARY, cluster, days=3, now=now)
        old = owner.add_backup(PRIMARY, cluster, created=now - timedelta(days=200))
        viewer = Fleet(VIEWER)
        viewer.add_daily_backups(PRIMARY, viewer.add_cluster(PRIMARY), days=2, now=now)
        share(OWNER, PRIMARY, old, VIEWER)
        yield url, old


def test_shards_merged_on_the_command_line_equal_one_scan(
    shared_fleet: tuple[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given one scan of the caller and both members, and two shards of the same accounts
    # (each shard reads the caller's own account too; the viewer's shard comes first)
    url, old = shared_fleet
    code, out = scan(
        capsys, url, "--format", "json", "--role-arn", role(OWNER), "--role-arn", role(VIEWER)
    )
    single = json.loads(out)
    parts = []
    for name, member in (("a.json", OWNER), ("b.json", VIEWER)):
        shard_code, text = scan(capsys, url, "--format", "partial", "--role-arn", role(member))
        assert shard_code == ExitCode.NON_COMPLIANT
        (tmp_path / name).write_text(text)
        parts.append(str(tmp_path / name))
    # When the shards are merged
    merged_code = main(["merge", *parts, "--format", "json"])
    merged = json.loads(capsys.readouterr().out)
    # Then it is the one-scan report, with the same exit code: the shared backup counted
    # once, judged as the owner's (its 30-day retention makes it overdue); the caller's
    # account, read by both shards, is noted as an overlap
    overlaps = merged["coverage"].pop("overlaps")
    assert overlaps == [{"account_id": DEFAULT_ACCOUNT, "region": PRIMARY}]
    assert (merged_code, without_time(merged)) == (code, without_time(single))
    assert merged["summary"]["backups_scanned"] == 3 + 4 + 2
    about_old = {
        (f["account_id"], f["rule"], f["shared"])
        for f in merged["findings"]
        if f["backup_id"] == old
    }
    assert about_old == {(OWNER, "overdue", False)}
    assert merged["scope"]["accounts"] == [DEFAULT_ACCOUNT, OWNER, VIEWER]


def test_merge_prints_text_and_a_partial_that_merges_again(
    shared_fleet: tuple[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, _ = shared_fleet
    for name, member in (("a.json", OWNER), ("b.json", VIEWER)):
        (tmp_path / name).write_text(
            scan(capsys, url, "--format", "partial", "--role-arn", role(member))[1]
        )
    a, b = str(tmp_path / "a.json"), str(tmp_path / "b.json")
    # text, as scan prints it
    assert main(["merge", a, b]) == ExitCode.NON_COMPLIANT
    assert capsys.readouterr().out.startswith("CloudHSM backup audit: NON_COMPLIANT\n")
    # a partial of both, merged with nothing else, gives the same report as both
    assert main(["merge", a, b, "--format", "partial"]) == ExitCode.NON_COMPLIANT
    (tmp_path / "ab.json").write_text(capsys.readouterr().out)
    main(["merge", str(tmp_path / "ab.json"), "--format", "json"])
    again = json.loads(capsys.readouterr().out)
    main(["merge", a, b, "--format", "json"])
    assert again == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "bad.json: not JSON (line 1 column 2)"),
        ('{"schema_version": 2}', "bad.json: not a schema_version 1 report"),
        ("FULL", "bad.json: a report, but not a partial one (make it with --format partial)"),
        (None, "bad.json: cannot read the partial report: No such file or directory"),
    ],
)
def test_input_that_is_not_a_partial_report_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, expected: str
) -> None:
    # Given a file that is not JSON, another schema, a full report, or no file at all
    path = tmp_path / "bad.json"
    if content == "FULL":
        content = json.dumps({"schema_version": 1, "status": "COMPLIANT", "findings": []})
    if content is not None:
        path.write_text(content)
    # When it is merged
    code = main(["merge", str(path)])
    err = capsys.readouterr().err
    # Then exit 2, one line naming the file, nothing on stdout
    assert code == ExitCode.USAGE
    assert err.count("\n") == 1
    assert err.strip() == f"hsm-backup-audit: error: {tmp_path}/{expected}"


def test_merge_without_a_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["merge"])
    assert exited.value.code == ExitCode.USAGE
    assert "PART.json" in capsys.readouterr().err


FUTURE = "2099-01-01T00:00:00Z"
LIVE_ID_PATTERN = "String should match pattern '^v1-[0-9a-f]{32}$'"


def _break(document: dict[str, Any], how: str) -> str:
    """The partial report's JSON text, broken one way."""
    finding = document["findings"][0]
    if how == "schema_version true":
        document["schema_version"] = True
    elif how == "partial version true":
        document["partial"]["version"] = True
    elif how == "wrong type":
        document["partial"]["cells"][0]["backups_scanned"] = "1"
    elif how == "bool for a string":
        finding["shared"] = "false"
    elif how == "forged id":
        finding["id"] += "\u200b"
    elif how == "duplicate id":
        document["findings"].append(dict(finding))
        document["partial"]["backup_keys"].append(document["partial"]["backup_keys"][0])
    elif how == "nested":
        return "[" * 200_000 + "]" * 200_000
    elif how == "from the future":
        document["generated_at"] = FUTURE
    return json.dumps(document)


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("schema_version true", "not a schema_version 1 report"),
        (
            "partial version true",
            "not a partial report: partial.version: Input should be a valid integer (got true)",
        ),
        (
            "wrong type",
            "not a partial report: partial.cells.0.backups_scanned: Input should be a valid "
            'integer (got "1")',
        ),
        (
            "bool for a string",
            "not a partial report: findings.0.shared: Input should be a valid boolean "
            '(got "false")',
        ),
        (
            "forged id",
            f'not a partial report: findings.0.id: {LIVE_ID_PATTERN} (got "{{id}}\\u200b")',
        ),
        ("duplicate id", "findings.1.id: {id} appears more than once"),
        ("nested", "arrays or objects nested too deeply"),
        (
            "from the future",
            f"refused: generated_at {FUTURE} is later than now: a partial report from the future",
        ),
    ],
)
def test_a_partial_with_a_wrong_type_or_id_is_refused_in_one_line(
    server_fleet: tuple[str, Fleet],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    how: str,
    says: str,
) -> None:
    # Given a good partial report with one finding (a NON_FIPS backup), then broken
    url, fleet = server_fleet
    cluster = fleet.add_cluster(PRIMARY)
    fleet.add_backup(PRIMARY, cluster, created=datetime.now(UTC), mode="NON_FIPS")
    document = json.loads(scan(capsys, url, "--format", "partial")[1])
    live_id = document["findings"][0]["id"]
    path = tmp_path / "part.json"
    path.write_text(_break(document, how))
    # When it is merged: exit 2 and one line naming the file and the field, no traceback
    code = main(["merge", str(path)])
    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert captured.out == ""
    assert captured.err == f"hsm-backup-audit: error: {path}: {says.replace('{id}', live_id)}\n"


def test_a_partial_within_the_clock_skew_merges(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a partial written by a host whose clock runs a minute ahead
    url, fleet = server_fleet
    fleet.add_daily_backups(PRIMARY, fleet.add_cluster(PRIMARY), days=2, now=datetime.now(UTC))
    document = json.loads(scan(capsys, url, "--format", "partial")[1])
    ahead = datetime.now(UTC) + timedelta(minutes=1)
    document["generated_at"] = ahead.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "part.json"
    path.write_text(json.dumps(document))
    # When it is merged: it is read (not refused as from the future)
    code = main(["merge", str(path), "--format", "json"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (ExitCode.COMPLIANT, "")
    assert json.loads(captured.out)["status"] == "COMPLIANT"


@SPECIAL_FILES
def test_a_partial_that_is_no_regular_file_is_never_read(
    special: str, kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given /dev/zero (endless), a FIFO no one writes to (would block), or a directory
    path = special_path(special, tmp_path)
    assert main(["merge", str(path), "--max-seconds", "5"]) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        f"hsm-backup-audit: error: {path}: cannot read the partial report: it is {kind}, "
        "not a regular file\n"
    )


def test_standard_input_with_no_writer_ends_at_max_seconds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given `-` on a pipe whose writer is open but never writes (a job that hung)
    reader, writer = os.pipe()
    monkeypatch.setattr("sys.stdin", open(reader))  # noqa: SIM115 - closed below
    try:
        started = time.monotonic()
        # When merged with --max-seconds 0.3 (and scanned with --baseline -)
        merge_code = main(["merge", "-", "--max-seconds", "0.3"])
        merge_err = capsys.readouterr().err
        scan_code = main(["scan", "--region", PRIMARY, "--baseline", "-", "--max-seconds", "0.3"])
        scan_err = capsys.readouterr().err
        took = time.monotonic() - started
    finally:
        sys.stdin.close()
        os.close(writer)
    # Then each ends at its deadline with exit 2 and one line, never waiting for the writer
    assert (merge_code, scan_code) == (ExitCode.USAGE, ExitCode.USAGE)
    assert merge_err == (
        "hsm-backup-audit: error: -: cannot read the partial report: nothing came within the "
        "time allowed\n"
    )
    assert scan_err == (
        "hsm-backup-audit: error: --baseline -: cannot read the baseline: nothing came within "
        "the time allowed\n"
    )
    assert took < 5


def test_standard_input_from_a_device_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given `-` with /dev/zero as standard input (endless)
    monkeypatch.setattr("sys.stdin", open("/dev/zero"))  # noqa: SIM115 - closed below
    try:
        code = main(["merge", "-"])
    finally:
        sys.stdin.close()
    # Then it is refused before a read
    assert code == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "hsm-backup-audit: error: -: cannot read the partial report: it is a character "
        "device, not a file or pipe\n"
    )

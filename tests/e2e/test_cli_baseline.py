"""`scan --baseline FILE` against a moto server: the changes are printed and reported, and
`--fail-on new` fails a CI job only on new findings above INFO."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer


def scan(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str]:
    code = main(["scan", "--endpoint-url", url, "--region", PRIMARY, *args])
    return code, capsys.readouterr().out


def test_ci_fails_only_on_new_findings_since_the_baseline(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a fleet with one NON_FIPS backup, scanned once into previous.json
    url, fleet = server_fleet
    now = datetime.now().astimezone()
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=10, now=now)
    legacy = fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=2), mode="NON_FIPS")
    code, out = scan(capsys, url, "--format", "json")
    assert code == ExitCode.NON_COMPLIANT
    previous = tmp_path / "previous.json"
    previous.write_text(out)
    # When nothing new appears, --fail-on new passes though the fleet is not compliant
    code, out = scan(
        capsys, url, "--format", "json", "--baseline", str(previous), "--fail-on", "new"
    )
    assert code == ExitCode.COMPLIANT
    document = json.loads(out)
    assert document["status"] == "NON_COMPLIANT"
    assert document["changes"]["new"] == []
    assert document["changes"]["unchanged"] == 1
    assert (
        document["changes"]["baseline"]["generated_at"]
        == json.loads(previous.read_text())["generated_at"]
    )
    # and the plain exit code still says non-compliant
    assert scan(capsys, url, "--baseline", str(previous))[0] == ExitCode.NON_COMPLIANT
    # When a NeverExpires backup appears, --fail-on new fails, and the text says what is new
    pinned = fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=3), never_expires=True)
    code, out = scan(capsys, url, "--baseline", str(previous), "--fail-on", "new")
    assert code == ExitCode.NON_COMPLIANT
    assert "1 new, 0 resolved, 1 unchanged" in out
    assert f"  NEW never-expires {pinned} {PRIMARY}" in out
    assert legacy in out


def test_an_incomplete_scan_never_passes_with_fail_on_new(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, fleet = server_fleet
    now = datetime.now().astimezone()
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=3, now=now)
    previous = tmp_path / "previous.json"
    previous.write_text(scan(capsys, url, "--format", "json")[1])
    fleet_server.layer.faults.append(Fault("deny", operation="DescribeBackups"))
    code, _ = scan(capsys, url, "--baseline", str(previous), "--fail-on", "new")
    assert code == ExitCode.INCOMPLETE


LIVE_ID = "v1-" + "0123456789abcdef" * 2


def _baseline(**changes: Any) -> str:
    """A valid baseline document of one finding, with `changes` applied to it (a key
    `finding.X` changes the finding's X) and returned as JSON text."""
    finding = {
        "id": LIVE_ID,
        "rule": "mode",
        "severity": "HIGH",
        "account_id": "123456789012",
        "region": PRIMARY,
        "cluster_id": "cluster-abc",
        "backup_id": "backup-abc",
        "first_seen": "2026-11-01T00:00:00Z",
        "message": "m",
    }
    document: dict[str, Any] = {
        "schema_version": 1,
        "generated_at": "2026-11-02T00:00:00Z",
        "findings": [finding],
    }
    for key, value in changes.items():
        target, name = (finding, key[8:]) if key.startswith("finding_") else (document, key)
        target[name] = value
    return json.dumps(document)


FUTURE = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
ID_PATTERN = "String should match pattern '^v1-[0-9a-f]{32}$'"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the baseline: No such file or directory"),
        ("{not json", "not JSON (line 1 column 2)"),
        ('{"schema_version": 2}', "schema_version: only schema_version 1 is read (got 2)"),
        ("[1, 2]", "not a hsm-backup-audit report (a JSON object is expected)"),
        # strict types: each of these was a traceback and exit 1 (the NON_COMPLIANT code)
        (
            _baseline(schema_version=True),
            "schema_version: Input should be a valid integer (got true)",
        ),
        (_baseline(finding_first_seen=[]), "findings.0.first_seen: Input should be a valid string"),
        (_baseline(finding_region=7), "findings.0.region: Input should be a valid string (got 7)"),
        (_baseline(findings={}), "findings: Input should be a valid list"),
        ("[" * 200_000 + "]" * 200_000, "arrays or objects nested too deeply"),
        # a forged id (a live id plus a zero-width space) is refused, never cleaned into it
        (
            _baseline(finding_id=LIVE_ID + "\u200b"),
            f'findings.0.id: {ID_PATTERN} (got "{LIVE_ID}\\u200b")',
        ),
        (
            _baseline(finding_id=LIVE_ID.upper()),
            f'findings.0.id: {ID_PATTERN} (got "{LIVE_ID.upper()}")',
        ),
        (
            _baseline(generated_at=FUTURE),
            f"generated_at: {FUTURE} is later than now: a report from the future is no baseline",
        ),
    ],
)
def test_a_bad_baseline_file_is_one_line_and_exit_2(
    content: str | None, says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "previous.json"
    if content is not None:
        path.write_text(content)
    code = main(["scan", "--region", PRIMARY, "--baseline", str(path)])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert err == f"hsm-backup-audit: error: --baseline {path}: {says}\n"


def test_a_baseline_with_one_id_twice_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a baseline whose two findings carry one id
    document = json.loads(_baseline())
    document["findings"].append({**document["findings"][0], "backup_id": "backup-other"})
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(document))
    # Then the scan never starts: exit 2, one line naming the file and the field
    assert main(["scan", "--region", PRIMARY, "--baseline", str(path)]) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        f"hsm-backup-audit: error: --baseline {path}: findings.1.id: {LIVE_ID} appears more "
        "than once\n"
    )


@pytest.mark.parametrize(
    ("special", "kind"),
    [("/dev/zero", "a character device"), ("FIFO", "a named pipe (FIFO)"), ("DIR", "a directory")],
)
def test_a_baseline_that_is_no_regular_file_is_never_read(
    special: str, kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given /dev/zero (endless), a FIFO no one writes to (would block), or a directory
    path = Path(special)
    if special == "FIFO":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    elif special == "DIR":
        path = tmp_path
    # Then it is refused at once, before any read
    code = main(["scan", "--region", PRIMARY, "--baseline", str(path), "--max-seconds", "5"])
    assert code == ExitCode.USAGE
    assert capsys.readouterr().err == (
        f"hsm-backup-audit: error: --baseline {path}: cannot read the baseline: it is {kind}, "
        "not a regular file\n"
    )


def test_fail_on_new_without_a_baseline_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scan", "--region", PRIMARY, "--fail-on", "new"]) == ExitCode.USAGE
    assert "--fail-on new needs --baseline" in capsys.readouterr().err

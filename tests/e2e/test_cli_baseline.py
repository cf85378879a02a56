"""`scan --baseline FILE` against a moto server: the changes are printed and reported, and
`--fail-on new` fails a CI job only on new findings above INFO."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

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


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "No such file or directory"),
        ("{not json", "not a JSON document"),
        ('{"schema_version": 2}', "not a hsm-backup-audit report (schema_version 1)"),
        ("[1, 2]", "not a hsm-backup-audit report (schema_version 1)"),
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


def test_fail_on_new_without_a_baseline_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scan", "--region", PRIMARY, "--fail-on", "new"]) == ExitCode.USAGE
    assert "--fail-on new needs --baseline" in capsys.readouterr().err

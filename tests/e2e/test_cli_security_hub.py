"""`scan --security-hub` against a moto server: findings go in, the ones fixed since
`--baseline` are archived, a refusal is a line on standard error, never the exit code."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer


def scan(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["scan", "--endpoint-url", url, "--region", PRIMARY, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def hub() -> dict[str, dict[str, object]]:
    return {f.id: f.data for f in securityhub_backends[DEFAULT_ACCOUNT][PRIMARY].findings}


def test_scan_imports_then_archives_what_was_fixed_since_the_baseline(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a pinned backup, scanned with --security-hub into previous.json
    url, fleet = server_fleet
    securityhub_backends[DEFAULT_ACCOUNT][PRIMARY].findings.clear()
    now = datetime.now().astimezone()
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=10, now=now)
    pinned = fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=2), never_expires=True)
    hub_id = "hsm-backup-audit/" + finding_id(
        "never-expires", DEFAULT_ACCOUNT, PRIMARY, cluster, pinned
    )
    code, out, err = scan(capsys, url, "--format", "json", "--security-hub")
    # Then the exit code is the audit's, and the finding is in Security Hub, ACTIVE
    assert code == ExitCode.NON_COMPLIANT
    assert "Security Hub: 1 finding imported, 0 archived" in err
    assert hub()[hub_id]["RecordState"] == "ACTIVE"
    previous = tmp_path / "previous.json"
    previous.write_text(out)
    # When the backup is fixed and the next scan compares with previous.json
    fleet.backend(PRIMARY).backups[pinned].never_expires = False
    code, _, err = scan(capsys, url, "--baseline", str(previous), "--security-hub")
    # Then it is archived and PASSED, under the same Id
    assert code == ExitCode.COMPLIANT
    assert "Security Hub: 0 findings imported, 1 archived" in err
    assert list(hub()) == [hub_id]
    assert hub()[hub_id]["RecordState"] == "ARCHIVED"
    assert hub()[hub_id]["Compliance"]["Status"] == "PASSED"


def test_a_refused_import_is_a_line_on_stderr_and_the_exit_code_is_the_audits(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url, fleet = server_fleet
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=10, now=datetime.now().astimezone())
    fleet.add_backup(PRIMARY, cluster, created=datetime.now().astimezone(), mode="NON_FIPS")
    fleet_server.layer.faults.append(
        Fault("deny", operation="/findings/import", code="AccessDeniedException")
    )
    code, _, err = scan(capsys, url, "--security-hub")
    assert code == ExitCode.NON_COMPLIANT
    assert (
        f"hsm-backup-audit: {DEFAULT_ACCOUNT} {PRIMARY} BatchImportFindings: "
        "AccessDeniedException: User is not authorized (1 finding)"
    ) in err

"""`scan --security-hub` against a moto server: findings go in, the ones fixed since
`--baseline` are archived, a refusal is a line on standard error, never the exit code."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.engine.reconcile import STATE_FIELDS
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer
from tests.asff_model import assert_valid_asff


def scan(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["scan", "--endpoint-url", url, "--region", PRIMARY, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def hub() -> dict[str, dict[str, Any]]:
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


def without_state(document: dict[str, Any]) -> dict[str, Any]:
    """A document less its state fields (FindingProviderFields' Severity is Severity's)."""
    rest = {key: value for key, value in document.items() if key not in STATE_FIELDS}
    provider = dict(rest["FindingProviderFields"])
    provider.pop("Severity")
    return rest | {"FindingProviderFields": provider}


def test_without_a_baseline_a_fixed_finding_is_archived_by_reconciling_with_security_hub(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pinned backup scanned with --security-hub, and another tool's ACTIVE finding
    url, fleet = server_fleet
    backend = securityhub_backends[DEFAULT_ACCOUNT][PRIMARY]
    backend.findings.clear()
    foreign = {
        "Id": "prowler-cloudhsm-1",
        "GeneratorId": "prowler-cloudhsm_backup",
        "ProductArn": f"arn:aws:securityhub:{PRIMARY}::product/prowler/prowler",
        "AwsAccountId": DEFAULT_ACCOUNT,
        "RecordState": "ACTIVE",
        "Resources": [{"Type": "Other", "Id": "x", "Region": PRIMARY}],
    }
    backend.batch_import_findings([dict(foreign)])
    now = datetime.now().astimezone()
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=10, now=now)
    pinned = fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=2), never_expires=True)
    hub_id = "hsm-backup-audit/" + finding_id(
        "never-expires", DEFAULT_ACCOUNT, PRIMARY, cluster, pinned
    )
    scan(capsys, url, "--security-hub")
    last_active = copy.deepcopy(hub()[hub_id])
    assert last_active["RecordState"] == "ACTIVE"
    # When the backup is fixed but its listing is denied: that cell is not read completely
    fleet.backend(PRIMARY).backups[pinned].never_expires = False
    fleet_server.layer.faults.append(Fault("deny", operation="DescribeBackups"))
    code, _, err = scan(capsys, url, "--security-hub")
    # Then nothing is archived: the finding stays ACTIVE
    assert code == ExitCode.INCOMPLETE
    assert "0 archived" in err
    assert hub()[hub_id]["RecordState"] == "ACTIVE"
    # When the next scan, without --baseline, reads it completely
    fleet_server.layer.faults.clear()
    code, _, err = scan(capsys, url, "--security-hub")
    # Then it is archived, and says why: reconciled with Security Hub, not the baseline
    assert code == ExitCode.COMPLIANT
    assert "0 findings imported, 1 archived (reconciled with Security Hub" in err
    assert "fixed since the baseline" not in err
    gone = hub()[hub_id]
    assert gone["RecordState"] == "ARCHIVED"
    assert gone["Compliance"]["Status"] == "PASSED"
    assert without_state(gone) == without_state(last_active)
    assert_valid_asff(gone)
    # and another tool's finding (moto returned it: it ignores Filters) is left as it was
    assert hub()["prowler-cloudhsm-1"]["RecordState"] == "ACTIVE"
    # and an ARCHIVED finding is not archived again
    _, _, err = scan(capsys, url, "--security-hub")
    assert "0 findings imported, 0 archived" in err


def test_with_a_baseline_a_refused_read_back_archives_nothing_and_says_so(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a pinned backup in Security Hub and in previous.json, then fixed
    url, fleet = server_fleet
    securityhub_backends[DEFAULT_ACCOUNT][PRIMARY].findings.clear()
    now = datetime.now().astimezone()
    cluster = fleet.add_cluster(PRIMARY, retention_days=379)
    fleet.add_daily_backups(PRIMARY, cluster, days=3, now=now)
    pinned = fleet.add_backup(PRIMARY, cluster, created=now - timedelta(days=2), never_expires=True)
    _, out, _ = scan(capsys, url, "--format", "json", "--security-hub")
    previous = tmp_path / "previous.json"
    previous.write_text(out)
    last_active = copy.deepcopy(hub())
    fleet.backend(PRIMARY).backups[pinned].never_expires = False
    # When GetFindings is refused and the next scan compares with previous.json
    fault = Fault("deny", operation="/findings", code="AccessDeniedException")
    fleet_server.layer.faults.append(fault)
    code, _, err = scan(capsys, url, "--baseline", str(previous), "--security-hub")
    # Then the exit code is the audit's, nothing is archived, and stderr says why
    assert code == ExitCode.COMPLIANT
    assert hub() == last_active
    assert (
        "Security Hub: 0 findings imported, 0 archived "
        "(not archived: could not read Security Hub's findings back)" in err
    )
    assert "GetFindings: AccessDeniedException" in err

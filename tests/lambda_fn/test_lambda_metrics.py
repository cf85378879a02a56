"""The EMF documents one run prints: every metric, zeros included, low-cardinality dimensions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lambda_output import emf_documents, emf_values

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.observability import metrics
from hsm_backup_audit.run_metrics import emit_run_metrics

ACCOUNTS = ("111111111111", "222222222222", "333333333333")


def mode_finding(account: str, n: int) -> Finding:
    return Finding(
        Rule.MODE,
        RULE_SEVERITY[Rule.MODE],
        account,
        "eu-west-1",
        "cluster-aaaaaaaaaaa",
        f"backup-{n:011d}",
        False,
        "Mode NON_FIPS",
        "fix",
    )


def test_more_than_one_account_adds_findings_by_account_and_ids_stay_out_of_dimensions(
    capsys: Any,
) -> None:
    # Given a run over three accounts with two findings in the first
    report = Report(
        status=Status.NON_COMPLIANT,
        generated_at=datetime(2026, 11, 27, tzinfo=UTC),
        scope=Scope(("us-east-1", "eu-west-1"), ACCOUNTS[0], ACCOUNTS, True),
        backups_scanned=12,
        findings=[mode_finding(ACCOUNTS[0], 1), mode_finding(ACCOUNTS[0], 2)],
        errors=[],
        duration_seconds=4.25,
    )
    # When its metrics are emitted and flushed (as log_metrics does)
    emit_run_metrics(report, run_id="20261127T000000Z-abc")
    metrics.flush_metrics()
    out = capsys.readouterr().out
    # Then each account has a value, zeros included, beside the totals
    values = emf_values(out)
    assert values[("Findings", (("Account", ACCOUNTS[0]),))] == 2
    assert values[("Findings", (("Account", ACCOUNTS[1]),))] == 0
    assert values[("Findings", (("Account", ACCOUNTS[2]),))] == 0
    assert values[("Findings", (("Region", "eu-west-1"),))] == 2
    assert values[("Findings", (("Region", "us-east-1"),))] == 0
    assert values[("ScanDurationSeconds", ())] == 4.25
    # and every document is in the namespace with the service dimension, ids in metadata only
    documents = emf_documents(out)
    dimension_names = set()
    for doc in documents:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "HsmBackupAudit"
        assert doc["service"] == "hsm-backup-audit"
        dimension_names |= {name for dims in directive["Dimensions"] for name in dims}
    assert dimension_names == {"service", "Rule", "Region", "Account"}
    assert len(documents) == 1 + len(Rule) + 2 + 3
    (totals,) = [doc for doc in documents if "BackupsScanned" in doc]
    assert totals["run_id"] == "20261127T000000Z-abc"
    assert "backup-00000000001" not in out
    units = {m["Name"]: m["Unit"] for m in totals["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["ScanDurationSeconds"] == "Seconds"
    assert units["BackupsScanned"] == "Count"


def test_backups_with_no_id_at_all_each_count_in_the_non_compliant_metric(capsys: Any) -> None:
    # Given three backups with neither BackupId nor BackupArn, each with Mode NON_FIPS
    now = datetime(2026, 11, 27, tzinfo=UTC)
    audit = Audit(Policy(), now)
    nameless = [
        {"BackupState": "READY", "CreateTimestamp": now, "NeverExpires": False, "Mode": "NON_FIPS"}
        | {"HsmType": "hsm2m.medium", "ClusterId": f"cluster-{n}"}
        for n in range(3)
    ]
    audit.add_backups(ACCOUNTS[0], "us-east-1", False, nameless)
    report = audit.finish(Scope(("us-east-1",), ACCOUNTS[0], ACCOUNTS[:1], True))
    # When its metrics are emitted
    emit_run_metrics(report, run_id="20261127T000000Z-nameless")
    metrics.flush_metrics()
    # Then the metric counts three non-compliant backups, not one
    assert emf_values(capsys.readouterr().out)[("NonCompliantBackups", ())] == 3

"""The EMF documents one run prints: every total, rule and region, zeros included; accounts
only with findings and capped, so the metric count is bounded; low-cardinality dimensions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lambda_output import emf_documents, emf_values

from hsm_backup_audit.constants import METRIC_ACCOUNTS_MAX, RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.observability import metrics
from hsm_backup_audit.run_metrics import emit_run_metrics, metric_bound

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


def test_more_than_one_account_adds_findings_by_account_with_findings_ids_stay_out(
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
    # Then the account with findings has its series beside the totals; the others none
    values = emf_values(out)
    assert values[("Findings", (("Account", ACCOUNTS[0]),))] == 2
    assert ("Findings", (("Account", ACCOUNTS[1]),)) not in values
    assert ("Findings", (("Account", ACCOUNTS[2]),)) not in values
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
    assert len(documents) == 1 + len(Rule) + 2 + 1
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


def test_5000_accounts_emit_a_bounded_number_of_metrics(capsys: Any) -> None:
    # Given a run over 5,000 accounts x 4 regions where 120 accounts have findings
    # (account n has n + 1 findings, so the most-findings order is known)
    regions = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
    accounts = tuple(f"{100_000_000_000 + n}" for n in range(5_000))
    findings = [mode_finding(accounts[n], n * 1_000 + k) for n in range(120) for k in range(n + 1)]
    report = Report(
        status=Status.NON_COMPLIANT,
        generated_at=datetime(2026, 11, 27, tzinfo=UTC),
        scope=Scope(regions, accounts[0], accounts, True),
        backups_scanned=20_000,
        findings=findings,
        errors=[],
        duration_seconds=480.0,
    )
    # When its metrics are emitted
    emit_run_metrics(report, run_id="20261127T000000Z-org")
    metrics.flush_metrics()
    values = emf_values(capsys.readouterr().out)
    # Then the distinct series (billed custom metrics) stay within the stated bound
    assert len(values) <= metric_bound(len(regions)) == 7 + len(Rule) + 4 + METRIC_ACCOUNTS_MAX
    by_account = {
        dims[0][1]: value for (_, dims), value in values.items() if dims and dims[0][0] == "Account"
    }
    # and the accounts kept are those with the most findings, with their true counts
    assert len(by_account) == METRIC_ACCOUNTS_MAX
    kept = accounts[120 - METRIC_ACCOUNTS_MAX : 120]
    assert by_account == {a: accounts.index(a) + 1 for a in kept}
    # and the totals still count every finding
    assert values[("Findings", ())] == len(findings)

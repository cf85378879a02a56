"""cdk-nag's AwsSolutions pack ran, found nothing unacknowledged, and every
acknowledgement is one we meant, with its reason."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Synth

EXPECTED_FULL = {
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAuditMemberRole/MemberRole/Resource"),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/reports/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/history/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<AuditFunctionD052CD6C.Arn>:*]",
        "HsmBackupAudit/Schedule/Role/DefaultPolicy/Resource",
    ),
    ("AwsSolutions-SQS3", "HsmBackupAudit/Schedule/DeadLetterQueue/Resource"),
    ("AwsSolutions-S1", "HsmBackupAudit/Reports/Bucket/Resource"),
}


def _report(synth: Synth) -> dict[str, Any]:
    (plugin,) = json.loads((synth.directory / "validation-report.json").read_text())[
        "pluginReports"
    ]
    assert plugin["pluginName"] == "AwsSolutions"
    report: dict[str, Any] = plugin
    return report


def _acknowledged(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (found["ruleName"], construct["constructPath"])
        for found in report["suppressedViolations"]
        for construct in found["violatingConstructs"]
    }


def test_aws_solutions_checks_pass(default: Synth, full: Synth) -> None:
    for synth in (default, full):
        report = _report(synth)
        assert report["conclusion"] == "success"
        assert report["violations"] == []


def test_only_the_intended_findings_are_acknowledged_each_with_a_reason(full: Synth) -> None:
    report = _report(full)
    assert _acknowledged(report) == EXPECTED_FULL
    assert all(len(found["reason"]) > 40 for found in report["suppressedViolations"])

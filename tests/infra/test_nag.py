"""cdk-nag's AwsSolutions pack ran, found nothing unacknowledged, and every
acknowledgement is one we meant, with its reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_iam as iam

from infra.app import create_app
from infra.constants import AUDIT_STACK_NAME

from .conftest import EMAILS, Synth, cdk_json_context

EXPECTED_FULL = {
    # Resource::* only on the two policies that hold nothing else
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAudit/Audit/ReadCloudHsmBackups/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAudit/Audit/WriteTraces/Resource"),
    # regions `all`: ec2:DescribeRegions, alone in its policy
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAudit/Audit/ListEnabledRegions/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "HsmBackupAuditMemberRole/MemberRole/Resource"),
    (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/hsm-backup-audit-member]",
        "HsmBackupAudit/Audit/MemberAccess/AssumeMemberRoles/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/reports/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/history/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/evidence/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    (
        "AwsSolutions-IAM5[Resource::<ReportsBucket95FE29A2.Arn>/deliveries/*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ),
    # securityHub=true with regions `all`: the account's own default product (import) and
    # its own hub (GetFindings, to reconcile), in any region
    *(
        (f"AwsSolutions-IAM5[Resource::arn:aws:securityhub:*:<AWS::AccountId>:{what}]", path)
        for what in ("product/<AWS::AccountId>/default", "hub/default")
        for path in (
            "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
            "HsmBackupAuditMemberRole/MemberRole/Resource",
        )
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


def test_a_new_wildcard_on_the_function_role_fails_the_synth(tmp_path: Path) -> None:
    # Given the app, and one more `Resource: *` statement on the function's role
    app = create_app({**cdk_json_context(), "notificationEmails": EMAILS[0]}, str(tmp_path))
    audit = app.node.find_child(AUDIT_STACK_NAME)
    role = audit.node.find_child("Audit").node.find_child("Role")
    assert isinstance(role, iam.Role)
    role.add_to_policy(iam.PolicyStatement(actions=["ec2:DescribeInstances"], resources=["*"]))
    # When it is synthesized, then cdk-nag refuses it: no acknowledgement covers it
    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        app.synth()

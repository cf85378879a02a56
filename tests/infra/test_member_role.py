"""The member-account stack: a read-only role that trusts only the audit function's role."""

from __future__ import annotations

from typing import Any

from infra.constants import MEMBER_ROLE_NAME, TRUSTED_ROLE_NAMES

from .conftest import AUDIT_ACCOUNT, EXTERNAL_ID, Synth


def _role(synth: Synth) -> dict[str, Any]:
    (role,) = synth.member.find_resources("AWS::IAM::Role").values()
    properties: dict[str, Any] = role["Properties"]
    return properties


def _audit_role_arn() -> list[dict[str, Any]]:
    """The single-run function's role, and the fan-out's batch and merge roles."""
    return [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::",
                    {"Ref": "AuditAccountId"},
                    f":role/{name}",
                ],
            ]
        }
        for name in TRUSTED_ROLE_NAMES
    ]


def test_the_trusted_roles_are_the_function_batch_and_merge() -> None:
    assert TRUSTED_ROLE_NAMES == (
        "hsm-backup-audit-function",
        "hsm-backup-audit-batch",
        "hsm-backup-audit-merge",
    )


def test_member_role_trusts_only_the_audit_function_role(full: Synth) -> None:
    role = _role(full)
    assert role["RoleName"] == MEMBER_ROLE_NAME
    assert role["MaxSessionDuration"] == 3600
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"]["AWS"]["Fn::Join"][1][3] == {"Ref": "AuditAccountId"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": _audit_role_arn()},
        "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
    }


def test_without_an_external_id_the_role_arn_condition_remains(default: Synth) -> None:
    (statement,) = _role(default)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": _audit_role_arn()}}


def test_member_role_can_only_describe_backups_and_clusters(default: Synth) -> None:
    # (with securityHub or regions=all it may import findings or list regions: see their tests)
    (policy,) = _role(default)["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": ["cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
    assert not _role(default).get("ManagedPolicyArns")


def test_with_regions_all_the_member_role_may_list_its_enabled_regions(full: Synth) -> None:
    statements = [
        statement
        for policy in _role(full)["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    # (securityHub=true adds only imports into its own default products: test_security_hub_iam)
    assert [s for s in statements if s["Resource"] == "*"] == [
        {
            "Action": [
                "cloudhsm:DescribeBackups",
                "cloudhsm:DescribeClusters",
                "ec2:DescribeRegions",
            ],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
    assert not _role(full).get("ManagedPolicyArns")


def test_audit_account_is_a_parameter_defaulting_to_the_context(
    default: Synth, full: Synth
) -> None:
    parameter = full.member.to_json()["Parameters"]["AuditAccountId"]
    assert parameter["Default"] == AUDIT_ACCOUNT
    assert parameter["AllowedPattern"] == r"^\d{12}$"
    assert "Default" not in default.member.to_json()["Parameters"]["AuditAccountId"]


def test_member_stack_holds_the_role_and_nothing_else(full: Synth) -> None:
    assert {r["Type"] for r in full.member.to_json()["Resources"].values()} == {"AWS::IAM::Role"}


def test_member_stack_needs_no_cdk_bootstrap(full: Synth) -> None:
    # No BootstrapVersion parameter or rule, no assets: a plain template for StackSets too.
    template = full.member.to_json()
    assert set(template["Parameters"]) == {"AuditAccountId"}
    assert "Rules" not in template
    assert not (full.directory / "HsmBackupAuditMemberRole.assets.json").exists()

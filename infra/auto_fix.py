"""autoFix=never-expires (off by default): what the function may change, granted only when
the setting is on. ModifyBackupAttributes on this account's CloudHSM backups, and the fix
journal under fixes/ of the report bucket. Never DeleteBackup: no deletion is automatic."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from hsm_backup_audit.constants import FIXES_KEY_PREFIX

from .nag import acknowledge, arn_resource

AUTO_FIX_ACTION = "cloudhsm:ModifyBackupAttributes"
AUTO_FIX_SETTINGS = ("never", "never-expires")


def backups_arn() -> str:
    """Every CloudHSM backup of this account, in any region (the service authorization
    reference's `backup` resource type)."""
    return f"arn:{Aws.PARTITION}:cloudhsm:*:{Aws.ACCOUNT_ID}:backup/*"


def grant_auto_fix(
    scope: Construct, role: iam.IRole, report_bucket: s3.IBucket | None
) -> iam.Policy:
    statements = [iam.PolicyStatement(actions=[AUTO_FIX_ACTION], resources=[backups_arn()])]
    if report_bucket is not None:
        statements.append(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[report_bucket.arn_for_objects(f"{FIXES_KEY_PREFIX}/*")],
            )
        )
    policy = iam.Policy(scope, "AutoFixNeverExpires", roles=[role], statements=statements)
    acknowledge(
        policy,
        "IAM5",
        "autoFix=never-expires: ModifyBackupAttributes (NeverExpires=false) on this account's "
        "backups, which the audit finds at run time in any audited region.",
        "Resource::arn:<AWS::Partition>:cloudhsm:*:<AWS::AccountId>:backup/*",
    )
    if report_bucket is not None:
        acknowledge(
            policy,
            "IAM5",
            "s3:PutObject under fixes/ of the report bucket only: one journal per run that "
            "changed something (fixes/<run id>.jsonl).",
            arn_resource(report_bucket, f"/{FIXES_KEY_PREFIX}/*"),
        )
    return policy

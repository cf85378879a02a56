"""The audit function: its role (least privilege), log group, layer and configuration."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from hsm_backup_audit import constants as fn
from hsm_backup_audit.constants import (
    HISTORY_KEY_PREFIX,
    POLICY_FILE_IN_ASSET,
    REPORT_KEY_PREFIX,
)
from hsm_backup_audit.regions import ALL_REGIONS

from . import constants as c
from .asset import function_code
from .nag import acknowledge, arn_resource
from .security_hub import IMPORT_ACTION, default_product_arns
from .settings import Settings

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64


def powertools_layer_arn(version: int) -> str:
    name = c.POWERTOOLS_LAYER_NAME.format(
        python=RUNTIME.name.replace(".", ""), arch=ARCHITECTURE.name
    )
    account = c.POWERTOOLS_LAYER_ACCOUNT
    return f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{account}:layer:{name}:{version}"


class AuditFunction(Construct):
    """The scheduled Lambda function that runs the audit and publishes its digest."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        report_bucket: s3.IBucket | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.log_group = self._build_log_group()
        self.role = self._build_role(topic, topic_key, report_bucket)
        self.function = self._build_function(topic, report_bucket)

    def _build_log_group(self) -> logs.LogGroup:
        days = self._settings.log_retention_days
        return logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays[c.LOG_RETENTION_NAMES[days]]
        )

    def _build_role(
        self, topic: sns.ITopic, topic_key: kms.IKey, report_bucket: s3.IBucket | None
    ) -> iam.Role:
        role = iam.Role(
            self,
            "Role",
            role_name=c.AUDIT_FUNCTION_ROLE_NAME,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="hsm-backup-audit function: reads CloudHSM backups, publishes the digest",
        )
        statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                actions=["cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"],
                resources=["*"],
            ),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[topic_key.key_arn]
            ),
        ]
        if report_bucket is not None:
            statements += self._report_bucket_statements(report_bucket)
        if ALL_REGIONS in self._settings.regions:
            statements.append(
                iam.PolicyStatement(actions=[fn.ENABLED_REGIONS_ACTION], resources=["*"])
            )
        if self._settings.member_role_arns:
            statements.append(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"], resources=list(self._settings.member_role_arns)
                )
            )
        if self._settings.security_hub:  # this account's findings; members import their own
            statements.append(
                iam.PolicyStatement(
                    actions=[IMPORT_ACTION], resources=default_product_arns(self._settings)
                )
            )
        for statement in statements:
            role.add_to_policy(statement)
        self._acknowledge_wildcards(role, report_bucket)
        return role

    @staticmethod
    def _report_bucket_statements(bucket: s3.IBucket) -> list[iam.PolicyStatement]:
        """Write reports and history; read them back (the baseline); list the bucket, so
        that a pointer not written yet reads as 404 NoSuchKey, not 403 AccessDenied."""
        prefixes = [
            bucket.arn_for_objects(f"{p}/*") for p in (REPORT_KEY_PREFIX, HISTORY_KEY_PREFIX)
        ]
        return [
            iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=prefixes),
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn]),
        ]

    def _acknowledge_wildcards(self, role: iam.Role, report_bucket: s3.IBucket | None) -> None:
        acknowledge(
            role,
            "IAM5",
            "cloudhsm:DescribeBackups and DescribeClusters, ec2:DescribeRegions (regions `all`), "
            "and X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
            "permissions: their resource is *.",
            "Resource::*",
        )
        if report_bucket is not None:
            acknowledge(
                role,
                "IAM5",
                "s3:GetObject and PutObject under reports/ of the report bucket only: each run "
                "writes reports/<account>/<date>/<run id>.json and reports/<account>/latest.json "
                "and reads back the baseline report its history points at.",
                arn_resource(report_bucket, f"/{REPORT_KEY_PREFIX}/*"),
            )
            acknowledge(
                role,
                "IAM5",
                "s3:GetObject and PutObject under history/ of the report bucket only: the run "
                "history, history/<scope key>/baseline.json and last-run.json.",
                arn_resource(report_bucket, f"/{HISTORY_KEY_PREFIX}/*"),
            )

    def _environment(self, topic: sns.ITopic, report_bucket: s3.IBucket | None) -> dict[str, str]:
        settings = self._settings
        env = {
            fn.ENV_TOPIC_ARN: topic.topic_arn,
            fn.ENV_REGIONS: ",".join(settings.regions) or Aws.REGION,
            fn.ENV_POLICY_FILE: POLICY_FILE_IN_ASSET,
            fn.ENV_NOTIFY: settings.notify,
            fn.ENV_WEEKLY_DIGEST_DAY: settings.weekly_digest_day,
            fn.ENV_METRICS_NAMESPACE: fn.METRICS_NAMESPACE_DEFAULT,
            fn.ENV_SERVICE_NAME: fn.SERVICE_NAME,
        }
        if report_bucket is not None:
            env[fn.ENV_REPORT_BUCKET] = report_bucket.bucket_name
        if settings.member_role_arns:
            env[fn.ENV_MEMBER_ROLE_ARNS] = ",".join(settings.member_role_arns)
        if settings.member_external_id:
            env[fn.ENV_EXTERNAL_ID] = settings.member_external_id
        if settings.max_workers is not None:
            env[fn.ENV_MAX_WORKERS] = str(settings.max_workers)
        if settings.organization:
            env[fn.ENV_ORGANIZATION] = "true"
            env[fn.ENV_MEMBER_ROLE_NAME] = settings.member_role_name
            if settings.organizational_units:
                env[fn.ENV_ORGANIZATIONAL_UNITS] = ",".join(settings.organizational_units)
        if settings.security_hub:
            env[fn.ENV_SECURITY_HUB] = "true"
        return env

    def _build_function(
        self, topic: sns.ITopic, report_bucket: s3.IBucket | None
    ) -> lambda_.Function:
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(self._settings.powertools_layer_version)
        )
        return lambda_.Function(
            self,
            "Function",
            description="Audits CloudHSM v2 backups against the policy and emails a digest",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=c.HANDLER,
            code=function_code(self._settings.policy_file),
            layers=[layer],
            role=self.role,
            log_group=self.log_group,
            environment=self._environment(topic, report_bucket),
            timeout=Duration.minutes(c.FUNCTION_TIMEOUT_MINUTES),
            memory_size=c.FUNCTION_MEMORY_MB,
            reserved_concurrent_executions=c.RESERVED_CONCURRENCY,
            tracing=lambda_.Tracing.ACTIVE,
        )

"""The audit function: its role (least privilege), log group, layer and configuration."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnMapping, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from hsm_backup_audit import constants as fn
from hsm_backup_audit.constants import (
    DELIVERY_KEY_PREFIX,
    EVIDENCE_KEY_PREFIX,
    HISTORY_KEY_PREFIX,
    MEMBER_ACCOUNTS_FILE_IN_ASSET,
    POLICY_FILE_IN_ASSET,
    REPORT_KEY_PREFIX,
)
from hsm_backup_audit.regions import ALL_REGIONS

from . import constants as c
from .asset import function_code
from .auto_fix import grant_auto_fix
from .member_access import MemberAccess
from .nag import acknowledge, arn_resource
from .security_hub import acknowledge_every_region
from .security_hub import statements as security_hub_statements
from .settings import Settings

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64


def powertools_layer_arn(scope: Construct, version: int) -> str:
    """The public layer's ARN; its publisher account is looked up by partition at deploy."""
    name = c.POWERTOOLS_LAYER_NAME.format(
        python=RUNTIME.name.replace(".", ""), arch=ARCHITECTURE.name
    )
    accounts = CfnMapping(
        Stack.of(scope),
        "PowertoolsLayerAccount",
        mapping={partition: {"Account": a} for partition, a in c.POWERTOOLS_LAYER_ACCOUNTS.items()},
    )
    account = accounts.find_in_map(Aws.PARTITION, "Account")
    return f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{account}:layer:{name}:{version}"


def finish_function(function: lambda_.Function, after: Sequence[IConstruct]) -> None:
    """What every function on the audit's role needs: active tracing set on the resource
    itself (`tracing=ACTIVE` would add the X-Ray grant to the role's default policy, where its
    `*` could not be acknowledged alone), creation after the role's policies (`after`), and
    cfn-lint's W3005 ignored on this resource only: CDK adds a DependsOn on the role that its
    GetAtt already implies, so W3005 elsewhere is still reported."""
    cfn = function.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
    for policy in after:
        function.node.add_dependency(policy)
    cfn.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


def list_bucket_statement(
    bucket: s3.IBucket, *prefixes: str, versions: bool = False
) -> iam.PolicyStatement:
    """s3:ListBucket (and s3:ListBucketVersions with `versions`), only for listings under
    `prefixes` (the s3:prefix condition applies to both actions)."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket", "s3:ListBucketVersions"] if versions else ["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{prefix}/*" for prefix in prefixes]}},
    )


def report_bucket_statements(bucket: s3.IBucket) -> list[iam.PolicyStatement]:
    """Write reports, history and the monthly evidence page; read them back (the baseline);
    write the delivery markers; read the versions of the history entries (the evidence
    page's runs); list under those prefixes only: a history pointer, a delivery marker or
    an evidence page is looked up by listing its key before it is read."""
    prefixes = [
        bucket.arn_for_objects(f"{p}/*")
        for p in (REPORT_KEY_PREFIX, HISTORY_KEY_PREFIX, EVIDENCE_KEY_PREFIX)
    ]
    return [
        iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=prefixes),
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{DELIVERY_KEY_PREFIX}/*")],
        ),
        # The monthly evidence page reads each run's history entry (its scope and policy)
        # from the versions of history/<scope key>/last-run.json.
        iam.PolicyStatement(
            actions=["s3:GetObjectVersion"],
            resources=[bucket.arn_for_objects(f"{HISTORY_KEY_PREFIX}/*")],
        ),
        list_bucket_statement(
            bucket,
            REPORT_KEY_PREFIX,
            HISTORY_KEY_PREFIX,
            DELIVERY_KEY_PREFIX,
            EVIDENCE_KEY_PREFIX,
            versions=True,
        ),
    ]


def acknowledge_bucket_prefixes(role: iam.IRole, report_bucket: s3.IBucket) -> None:
    acknowledge(
        role,
        "IAM5",
        "s3:GetObject and PutObject under reports/ of the report bucket only: each run "
        "writes reports/<account>/<date>/<run id>.json and reports/<account>/latest.json.",
        arn_resource(report_bucket, f"/{REPORT_KEY_PREFIX}/*"),
    )
    acknowledge(
        role,
        "IAM5",
        "s3:GetObject and PutObject under history/ of the report bucket only: the run "
        "history, history/<scope key>/baseline.json and last-run.json.",
        arn_resource(report_bucket, f"/{HISTORY_KEY_PREFIX}/*"),
    )
    acknowledge(
        role,
        "IAM5",
        "s3:PutObject under deliveries/ of the report bucket only: one marker per "
        "invocation (deliveries/<request id>.json) once its digest was published.",
        arn_resource(report_bucket, f"/{DELIVERY_KEY_PREFIX}/*"),
    )
    acknowledge(
        role,
        "IAM5",
        "s3:GetObject and PutObject under evidence/ of the report bucket only: the first "
        "run of each month writes evidence/<scope>/<YYYY-MM>.html and .csv.",
        arn_resource(report_bucket, f"/{EVIDENCE_KEY_PREFIX}/*"),
    )


def wildcard_policy(
    scope: Construct, role: iam.IRole, name: str, actions: list[str], reason: str
) -> iam.Policy:
    """A statement whose only resource is `*`, in a policy of its own with its reason."""
    statement = iam.PolicyStatement(actions=actions, resources=["*"])
    policy = iam.Policy(scope, name, roles=[role], statements=[statement])
    acknowledge(policy, "IAM5", reason, "Resource::*")
    return policy


READ_BACKUPS_REASON = (
    "cloudhsm:DescribeBackups and DescribeClusters support no resource-level "
    "permissions: their only resource is *."
)
TRACES_REASON = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) support no "
    "resource-level permissions: their only resource is *."
)
REGIONS_REASON = (
    "ec2:DescribeRegions (regions `all`: the regions enabled for the account) "
    "supports no resource-level permissions: its only resource is *."
)
READ_BACKUPS = ["cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"]
WRITE_TRACES = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


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
        self._settings = self.settings = settings
        self.topic, self.topic_key = topic, topic_key
        self.log_group = self._build_log_group()
        self.log_group_retention = logs.RetentionDays[
            c.LOG_RETENTION_NAMES[settings.log_retention_days]
        ]
        self.role = self._build_role(topic, topic_key, report_bucket)
        # Shared with the fan-out's step functions (infra/fanout.py): same code, same env.
        self.environment = self._environment(topic, report_bucket)
        self.policy_file = settings.policy_file
        self.function = self._build_function(topic, report_bucket)

    def _build_log_group(self) -> logs.LogGroup:
        days = self._settings.log_retention_days
        return logs.LogGroup(
            self, "LogGroup", retention=logs.RetentionDays[c.LOG_RETENTION_NAMES[days]]
        )

    def _build_role(
        self, topic: sns.ITopic, topic_key: kms.IKey, report_bucket: s3.IBucket | None
    ) -> iam.Role:
        """Statements on named resources go to the role's default policy; each statement
        that needs `Resource: *` has its own policy and acknowledgement, so a new wildcard
        anywhere else fails the synth (cdk-nag IAM5)."""
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
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[topic_key.key_arn]
            ),
        ]
        if report_bucket is not None:
            statements += self._report_bucket_statements(report_bucket)
        if self._settings.security_hub:  # this account's findings; members import their own
            statements += security_hub_statements(self._settings)
        for statement in statements:
            role.add_to_policy(statement)
        if self._settings.security_hub:
            acknowledge_every_region(role, self._settings)
        self.wildcard_policies = [
            self._wildcard_policy(role, "ReadCloudHsmBackups", READ_BACKUPS, READ_BACKUPS_REASON),
            self._wildcard_policy(role, "WriteTraces", WRITE_TRACES, TRACES_REASON),
        ]
        if ALL_REGIONS in self._settings.regions:
            self.wildcard_policies.append(
                self._wildcard_policy(
                    role, "ListEnabledRegions", [fn.ENABLED_REGIONS_ACTION], REGIONS_REASON
                )
            )
        if self._settings.member_accounts:
            member = MemberAccess(self, "MemberAccess", role=role, settings=self._settings)
            self.wildcard_policies.append(member.policy)
        if report_bucket is not None:
            self._acknowledge_bucket_prefixes(role, report_bucket)
        if self._settings.auto_fix:  # only when on: no role may change a backup otherwise
            grant_auto_fix(self, role, report_bucket)
        return role

    @staticmethod
    def _report_bucket_statements(bucket: s3.IBucket) -> list[iam.PolicyStatement]:
        return report_bucket_statements(bucket)

    @staticmethod
    def _acknowledge_bucket_prefixes(role: iam.Role, report_bucket: s3.IBucket) -> None:
        acknowledge_bucket_prefixes(role, report_bucket)

    def _wildcard_policy(
        self, role: iam.Role, name: str, actions: list[str], reason: str
    ) -> iam.Policy:
        return wildcard_policy(self, role, name, actions, reason)

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
        if settings.member_accounts:
            env[fn.ENV_MEMBER_ACCOUNTS_FILE] = MEMBER_ACCOUNTS_FILE_IN_ASSET
            env[fn.ENV_MEMBER_ROLE_NAME] = settings.member_role_name
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
        if settings.auto_fix:
            env[fn.ENV_AUTO_FIX] = settings.auto_fix
        return env

    def _build_function(
        self, topic: sns.ITopic, report_bucket: s3.IBucket | None
    ) -> lambda_.Function:
        settings = self._settings
        self.environment = self._environment(topic, report_bucket)
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(self, settings.powertools_layer_version)
        )
        self.powertools_layer = layer  # the fan-out's step functions use the same one
        self.code = function_code(settings.policy_file, settings.member_accounts)
        function = lambda_.Function(
            self,
            "Function",
            description="Audits CloudHSM v2 backups against the policy and emails a digest",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=c.HANDLER,
            code=self.code,
            layers=[layer],
            role=self.role,
            log_group=self.log_group,
            environment=self.environment,
            timeout=Duration.minutes(c.FUNCTION_TIMEOUT_MINUTES),
            memory_size=c.FUNCTION_MEMORY_MB,
            reserved_concurrent_executions=(
                c.RESERVED_CONCURRENCY if settings.reserved_concurrency else None
            ),
        )
        finish_function(function, self.wildcard_policies)
        return function

"""One role per step of the fan-out, each with what its step calls and nothing else.

plan   Organizations' account listing (organization mode) and the working files it
       writes under fanout/.
batch  CloudHSM reads (and ec2:DescribeRegions with regions `all`), AssumeRole of the
       member role, and s3:PutObject under fanout/<run>/partials/ only.
merge  fanout/ read and listed; reports/ and history/ read and written, deliveries/
       written; the digest topic (and its key); Security Hub, and the member role for
       the members' own imports, when securityHub is on. Its metrics are EMF log lines.

Member roles trust the batch and merge roles by name (infra/constants.py
TRUSTED_ROLE_NAMES), as they trust the single-run function's role.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from hsm_backup_audit import constants as fn
from hsm_backup_audit.constants import FANOUT_KEY_PREFIX
from hsm_backup_audit.regions import ALL_REGIONS

from . import constants as c
from .function import (
    READ_BACKUPS,
    READ_BACKUPS_REASON,
    REGIONS_REASON,
    TRACES_REASON,
    WRITE_TRACES,
    AuditFunction,
    acknowledge_bucket_prefixes,
    list_bucket_statement,
    report_bucket_statements,
    wildcard_policy,
)
from .member_access import MemberAccess
from .nag import acknowledge, arn_resource
from .organization_access import OrganizationAccess
from .security_hub import acknowledge_every_region
from .security_hub import statements as security_hub_statements

PARTIALS = f"{FANOUT_KEY_PREFIX}/*/partials/*"
PLAN = f"{FANOUT_KEY_PREFIX}/*/plan.json"


class StepRoles(Construct):
    """`plan`, `batch` and `merge` roles, and `after[role]`: the policies each step's
    function must be created after (its `Resource: *` policies, kept apart for cdk-nag)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, audit: AuditFunction, bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        self._audit, self._bucket = audit, bucket
        self._settings = settings = audit.settings
        self.after: dict[str, list[iam.Policy]] = {}
        self.plan = self._role("Plan", None, "plan: lists the accounts, writes the work list")
        self.batch = self._role(
            "Batch", c.FANOUT_BATCH_ROLE_NAME, "batch: reads CloudHSM backups of its accounts"
        )
        self.merge = self._role(
            "Merge", c.FANOUT_MERGE_ROLE_NAME, "merge: merges the partials, delivers the run"
        )
        self._grant_plan()
        self._grant_batch()
        self._grant_merge()
        members = settings.member_accounts or settings.organization
        self._assume_member_roles("Batch", self.batch)
        if settings.security_hub and members:
            self._assume_member_roles("Merge", self.merge)

    def _role(self, name: str, role_name: str | None, description: str) -> iam.Role:
        role = iam.Role(
            self,
            f"{name}Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"hsm-backup-audit fan-out {description}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self._audit.log_group.log_group_arn],
            )
        )
        self.after[name] = [
            wildcard_policy(self, role, f"{name}Traces", WRITE_TRACES, TRACES_REASON)
        ]
        return role

    def _grant_plan(self) -> None:
        working = self._bucket.arn_for_objects(f"{FANOUT_KEY_PREFIX}/*")
        self.plan.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[working]))
        acknowledge(
            self.plan,
            "IAM5",
            "s3:PutObject under fanout/ of the report bucket only: the run's work list and "
            "plan, fanout/<run>/accounts.json and plan.json.",
            arn_resource(self._bucket, f"/{FANOUT_KEY_PREFIX}/*"),
        )
        if self._settings.organization:
            access = OrganizationAccess(
                self,
                "PlanOrganization",
                role=self.plan,
                settings=self._settings,
                assume_member_roles=False,
            )
            self.after["Plan"].append(access.policy)

    def _grant_batch(self) -> None:
        self.batch.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self._bucket.arn_for_objects(PARTIALS)]
            )
        )
        # Each batch checks its work items against the run's plan (steps.run_batch).
        self.batch.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self._bucket.arn_for_objects(PLAN)]
            )
        )
        acknowledge(
            self.batch,
            "IAM5",
            "s3:GetObject of the run's plan only: fanout/<run>/plan.json, which each batch "
            "checks its work items against (the run id is known at run time only).",
            arn_resource(self._bucket, f"/{PLAN}"),
        )
        acknowledge(
            self.batch,
            "IAM5",
            "s3:PutObject of partial reports only: fanout/<run>/partials/<batch>.json (the "
            "run id is known at run time only).",
            arn_resource(self._bucket, f"/{PARTIALS}"),
        )
        after = self.after["Batch"]
        after.append(
            wildcard_policy(self, self.batch, "BatchReads", READ_BACKUPS, READ_BACKUPS_REASON)
        )
        if ALL_REGIONS in self._settings.regions:
            after.append(
                wildcard_policy(
                    self, self.batch, "BatchRegions", [fn.ENABLED_REGIONS_ACTION], REGIONS_REASON
                )
            )

    def _grant_merge(self) -> None:
        bucket, merge = self._bucket, self.merge
        statements = [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{FANOUT_KEY_PREFIX}/*")],
            ),
            *report_bucket_statements(bucket)[:-1],
            list_bucket_statement(
                bucket,
                FANOUT_KEY_PREFIX,
                fn.REPORT_KEY_PREFIX,
                fn.HISTORY_KEY_PREFIX,
                fn.DELIVERY_KEY_PREFIX,
                fn.EVIDENCE_KEY_PREFIX,
                versions=True,
            ),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self._audit.topic.topic_arn]),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self._audit.topic_key.key_arn],
            ),
        ]
        if self._settings.security_hub:
            statements += security_hub_statements(self._settings)
        for statement in statements:
            merge.add_to_policy(statement)
        if self._settings.security_hub:
            acknowledge_every_region(merge, self._settings)
        acknowledge(
            merge,
            "IAM5",
            "s3:GetObject under fanout/ of the report bucket only: the run's plan and its "
            "partial reports, fanout/<run>/plan.json and partials/<batch>.json.",
            arn_resource(bucket, f"/{FANOUT_KEY_PREFIX}/*"),
        )
        acknowledge_bucket_prefixes(merge, bucket)

    def _assume_member_roles(self, name: str, role: iam.Role) -> None:
        settings = self._settings
        if settings.organization:
            access = OrganizationAccess(
                self, f"{name}Organization", role=role, settings=settings, list_accounts=False
            )
            self.after[name].append(access.policy)
        elif settings.member_accounts:
            self.after[name].append(
                MemberAccess(self, f"{name}MemberAccess", role=role, settings=settings).policy
            )

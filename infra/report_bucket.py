"""The report bucket (on by default): every run's complete JSON report, kept as audit
evidence, and the run history the next run compares with (history/).

Everything written here expires, old versions included: reports and history after
reportExpirationDays; the fan-out's working files (fanout/, its map-results/) and the
delivery markers (deliveries/) after a few days. Unfinished multipart uploads are aborted
bucket-wide."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from hsm_backup_audit.constants import (
    DELIVERY_KEY_PREFIX,
    FANOUT_KEY_PREFIX,
    FIXES_KEY_PREFIX,
    HISTORY_KEY_PREFIX,
    REPORT_KEY_PREFIX,
)

from . import constants as c
from .constants import REPORT_GLACIER_AFTER_DAYS
from .nag import acknowledge


class ReportBucket(Construct):
    """Versioned, encrypted, private, TLS only. Reports go to Glacier after 90 days, then
    expire; the history's small pointers are never archived (each run reads them)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expiration_days: int,
        object_lock_days: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Optional WORM evidence: every object version kept, in compliance mode, for this
        # many days from its writing; no one can delete or shorten it (docs/evidence.md).
        lock: dict[str, Any] = (
            {
                "object_lock_enabled": True,
                "object_lock_default_retention": s3.ObjectLockRetention.compliance(
                    Duration.days(object_lock_days)
                ),
            }
            if object_lock_days
            else {}
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                self._build_lifecycle_rule(expiration_days),
                self._build_history_rule(expiration_days),
                self._build_fixes_rule(expiration_days),
                *self._build_working_file_rules(),
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(c.INCOMPLETE_UPLOAD_DAYS),
                ),
            ],
            **lock,
        )
        acknowledge(
            self.bucket,
            "S1",
            "Only the audit function writes here, under reports/ and history/; its writes are "
            "logged by the function itself. Turn on CloudTrail S3 data events if reads must be "
            "logged.",
        )

    @staticmethod
    def _build_lifecycle_rule(expiration_days: int) -> s3.LifecycleRule:
        glacier = Duration.days(REPORT_GLACIER_AFTER_DAYS)
        return s3.LifecycleRule(
            id="ArchiveThenExpireReports",
            prefix=f"{REPORT_KEY_PREFIX}/",
            transitions=[
                s3.Transition(storage_class=s3.StorageClass.GLACIER, transition_after=glacier)
            ],
            noncurrent_version_transitions=[
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.GLACIER, transition_after=glacier
                )
            ],
            expiration=Duration.days(expiration_days),
            noncurrent_version_expiration=Duration.days(expiration_days),
        )

    @staticmethod
    def _build_history_rule(expiration_days: int) -> s3.LifecycleRule:
        return s3.LifecycleRule(
            id="ExpireHistory",
            prefix=f"{HISTORY_KEY_PREFIX}/",
            expiration=Duration.days(expiration_days),
            noncurrent_version_expiration=Duration.days(expiration_days),
        )

    @staticmethod
    def _build_working_file_rules() -> list[s3.LifecycleRule]:
        """fanout/ (and, in a rule of its own, the Map's fanout/map-results/) and
        deliveries/: current versions after a few days, replaced ones after a day."""
        rules = (
            ("ExpireFanOutWorkingFiles", f"{FANOUT_KEY_PREFIX}/", c.FANOUT_EXPIRATION_DAYS),
            (
                "ExpireMapResults",
                f"{FANOUT_KEY_PREFIX}/{c.FANOUT_MAP_RESULTS_FOLDER}/",
                c.FANOUT_EXPIRATION_DAYS,
            ),
            ("ExpireDeliveryMarkers", f"{DELIVERY_KEY_PREFIX}/", c.DELIVERY_EXPIRATION_DAYS),
        )
        return [
            s3.LifecycleRule(
                id=rule_id,
                prefix=prefix,
                expiration=Duration.days(days),
                noncurrent_version_expiration=Duration.days(c.NONCURRENT_WORKING_FILES_DAYS),
            )
            for rule_id, prefix, days in rules
        ]

    @staticmethod
    def _build_fixes_rule(expiration_days: int) -> s3.LifecycleRule:
        """The journals of autoFix (fixes/): kept as long as the reports they act on."""
        return s3.LifecycleRule(
            id="ExpireFixJournals",
            prefix=f"{FIXES_KEY_PREFIX}/",
            expiration=Duration.days(expiration_days),
            noncurrent_version_expiration=Duration.days(expiration_days),
        )

"""The audit stack: wires the constructs together, and nothing else."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .function import AuditFunction
from .monitoring import Monitoring
from .notifications import Notifications
from .organization_access import OrganizationAccess
from .report_bucket import ReportBucket
from .schedule import AuditSchedule
from .settings import Settings


class AuditStack(Stack):
    """The scheduled audit, its emails, its optional report bucket, dashboard and alarms."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(
            scope, construct_id, description="hsm-backup-audit: scheduled CloudHSM backup audit"
        )
        notifications = Notifications(self, "Notifications", emails=settings.notification_emails)
        reports = (
            ReportBucket(self, "Reports", expiration_days=settings.report_expiration_days)
            if settings.report_bucket
            else None
        )
        audit = AuditFunction(
            self,
            "Audit",
            settings=settings,
            topic=notifications.topic,
            topic_key=notifications.key,
            report_bucket=reports.bucket if reports else None,
        )
        if settings.organization:
            OrganizationAccess(self, "Organization", role=audit.role, settings=settings)
        AuditSchedule(
            self,
            "Schedule",
            function=audit.function,
            expression=settings.schedule,
            timezone=settings.schedule_timezone,
        )
        monitoring = Monitoring(
            self, "Monitoring", function=audit.function, topic=notifications.topic
        )

        CfnOutput(self, "DashboardUrl", value=monitoring.dashboard_url)
        CfnOutput(self, "TopicArn", value=notifications.topic.topic_arn)
        CfnOutput(self, "FunctionName", value=audit.function.function_name)
        CfnOutput(
            self,
            "FunctionRoleArn",
            value=audit.role.role_arn,
            description="Member accounts' roles trust this role",
        )
        if reports:
            CfnOutput(self, "ReportBucketName", value=reports.bucket.bucket_name)

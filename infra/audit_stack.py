"""The audit stack: wires the constructs together, and nothing else."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .fanout import FanOut
from .fanout_settings import read_fanout_settings
from .function import AuditFunction
from .limits import check_limits, warn_past_one_lambda
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
            ReportBucket(
                self,
                "Reports",
                expiration_days=settings.report_expiration_days,
                object_lock_days=settings.report_object_lock_days,
            )
            if settings.report_bucket or settings.fan_out  # the fan-out's working files
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
        fan_out = None
        if settings.organization:
            OrganizationAccess(self, "Organization", role=audit.role, settings=settings)
        if settings.fan_out:
            assert reports is not None
            fan_out = FanOut(
                self,
                "FanOut",
                audit=audit,
                bucket=reports.bucket,
                settings=read_fanout_settings(self.node),
            )
        state_machine = fan_out.state_machine if fan_out else None
        schedule = AuditSchedule(
            self,
            "Schedule",
            function=audit.function,
            state_machine=state_machine,
            expression=settings.schedule,
            timezone=settings.schedule_timezone,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            function=audit.function,
            topic=notifications.topic,
            dead_letter_queue=schedule.dead_letter_queue,
            missed_run_hours=settings.missed_run_alarm_hours,
            state_machine=state_machine,
            steps=(
                {"Plan": fan_out.plan, "Batch": fan_out.batch, "Merge": fan_out.merge}
                if fan_out
                else None
            ),
        )
        notifications.allow_alarms_to_publish(monitoring.alarm_arns)

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
        if state_machine:
            CfnOutput(self, "StateMachineArn", value=state_machine.state_machine_arn)
        check_limits(self)
        warn_past_one_lambda(self, settings)

"""When the audit runs: EventBridge Scheduler, in a time zone, with retries and a DLQ."""

from __future__ import annotations

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import constants as c
from .nag import acknowledge


class AuditSchedule(Construct):
    """Invokes the function on the schedule. Failed invocations end in one dead-letter queue:
    those the scheduler could not deliver, and runs that still failed after Lambda's retries
    (a configuration error, or a digest that could not be published)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        expression: str,
        timezone: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = self._build_dead_letter_queue()
        self.role = self._build_role(function)
        function.configure_async_invoke(
            retry_attempts=c.FUNCTION_RETRY_ATTEMPTS,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Runs the CloudHSM backup audit",
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
            target=targets.LambdaInvoke(
                function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=c.SCHEDULE_RETRY_ATTEMPTS,
                max_event_age=Duration.hours(c.SCHEDULE_MAX_EVENT_AGE_HOURS),
                # CDK's target would also grant InvokeFunction on every version (ARN:*);
                # the grants are written out below instead, naming what is used.
                role=self.role.without_policy_updates(),
            ),
        )

    def _build_role(self, function: lambda_.IFunction) -> iam.Role:
        """The scheduler's role: invoke the function (unqualified, as the schedule does)
        and park an undeliverable invocation in the dead-letter queue; nothing else."""
        role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler: invokes the hsm-backup-audit function",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn]
            )
        )
        return role

    def _build_dead_letter_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(c.DLQ_RETENTION_DAYS),
        )
        acknowledge(
            queue,
            "SQS3",
            "This queue is itself the dead-letter queue: of the schedule's invocations and of "
            "the function's failed runs.",
        )
        return queue

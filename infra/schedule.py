"""When the audit runs: EventBridge Scheduler, in a time zone, with retries and a DLQ."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from . import constants as c
from .nag import acknowledge


class AuditSchedule(Construct):
    """Invokes the function (or, in organization mode, starts the fan-out) on the schedule.
    Failures end in one dead-letter queue: invocations the scheduler could not deliver, runs
    that still failed after Lambda's retries, and fan-out executions that failed."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        expression: str,
        timezone: str,
        state_machine: sfn.IStateMachine | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = self._build_dead_letter_queue()
        self.role = self._build_role(function, state_machine)
        function.configure_async_invoke(
            retry_attempts=c.FUNCTION_RETRY_ATTEMPTS,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        delivery: dict[str, Any] = {
            "dead_letter_queue": self.dead_letter_queue,
            "retry_attempts": c.SCHEDULE_RETRY_ATTEMPTS,
            "max_event_age": Duration.hours(c.SCHEDULE_MAX_EVENT_AGE_HOURS),
            # CDK's Lambda target would also grant InvokeFunction on every version (ARN:*);
            # the grants are written out in _build_role instead, naming what is used.
            "role": self.role.without_policy_updates(),
        }
        target: scheduler.IScheduleTarget = targets.LambdaInvoke(function, **delivery)
        if state_machine is not None:
            # Organization mode: the schedule starts the fan-out instead of the function.
            target = targets.StepFunctionsStartExecution(state_machine, **delivery)
            self._park_failed_executions(state_machine)
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Runs the CloudHSM backup audit",
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
            target=target,
        )

    def _park_failed_executions(self, state_machine: sfn.IStateMachine) -> None:
        """A failed, timed-out or aborted execution lands in the dead-letter queue too."""
        events.Rule(
            self,
            "FailedExecutions",
            description="Failed hsm-backup-audit fan-out executions, kept in the DLQ",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": list(c.FANOUT_FAILED_STATUSES),
                    "stateMachineArn": [state_machine.state_machine_arn],
                },
            ),
            targets=[events_targets.SqsQueue(self.dead_letter_queue)],
        )

    def _build_role(
        self, function: lambda_.IFunction, state_machine: sfn.IStateMachine | None
    ) -> iam.Role:
        """The scheduler's role: invoke the function (unqualified, as the schedule does) or
        start the state machine, and park an undeliverable run in the dead-letter queue."""
        role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler: runs the hsm-backup-audit",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        if state_machine is None:
            start = iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        else:
            start = iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[state_machine.state_machine_arn]
            )
        role.add_to_policy(start)
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
            "This queue is itself the dead-letter queue: of the schedule's invocations, of "
            "the function's failed runs and of failed fan-out executions.",
        )
        return queue

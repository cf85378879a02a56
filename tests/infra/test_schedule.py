"""EventBridge Scheduler: the expression, its time zone, retries and the dead-letter queue."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match

from infra.constants import CONTEXT_DEFAULTS, SCHEDULE_RETRY_ATTEMPTS

from .conftest import Synth


def test_default_schedule_is_daily_at_seven_utc(default: Synth) -> None:
    # Given cdk.json's context / Then every day at 07:00 in UTC
    default.audit.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 7 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "State": "ENABLED",
        },
    )
    assert CONTEXT_DEFAULTS["schedule"] == "cron(0 7 * * ? *)"


def test_schedule_and_time_zone_come_from_context(full: Synth) -> None:
    full.audit.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(30 6 ? * MON-FRI *)",
            "ScheduleExpressionTimezone": "Europe/Paris",
        },
    )


def test_schedule_invokes_the_function_with_retries_and_a_dead_letter_queue(
    default: Synth,
) -> None:
    target_arn, dlq_arn = Capture(), Capture()
    default.audit.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Target": Match.object_like(
                {
                    "Arn": target_arn,
                    "RetryPolicy": {
                        "MaximumRetryAttempts": SCHEDULE_RETRY_ATTEMPTS,
                        "MaximumEventAgeInSeconds": 6 * 3600,
                    },
                    "DeadLetterConfig": {"Arn": dlq_arn},
                }
            )
        },
    )
    function_id = next(iter(default.audit.find_resources("AWS::Lambda::Function")))
    queue_id = next(iter(default.audit.find_resources("AWS::SQS::Queue")))
    assert target_arn.as_object() == {"Fn::GetAtt": [function_id, "Arn"]}
    assert dlq_arn.as_object() == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_dead_letter_queue_is_encrypted_and_keeps_messages_two_weeks(default: Synth) -> None:
    default.audit.has_resource_properties(
        "AWS::SQS::Queue",
        {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600},
    )
    default.audit.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )

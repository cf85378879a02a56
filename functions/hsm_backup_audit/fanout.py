"""The Lambda entry points of the fan-out's steps (the state machine in infra/fanout.py):
`hsm_backup_audit.fanout.plan_handler`, `batch_handler` and `merge_handler`.
The single run's entry point stays `hsm_backup_audit.handler.lambda_handler`."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from .configuration import configuration, validated_configuration
from .observability import logger, metrics, tracer
from .scheduled_audit import TimeBudget
from .steps import merge_run, plan, run_batch


@validated_configuration
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def plan_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return plan(configuration(), context.aws_request_id, _session())


@validated_configuration
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def batch_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget = TimeBudget(context.get_remaining_time_in_millis)
    return run_batch(event, configuration(), budget, _session())


@validated_configuration
@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def merge_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Emits the run's metrics, as the single run's handler does; runs under the
    invocation's remaining time, as it does."""
    budget = TimeBudget(context.get_remaining_time_in_millis)
    return merge_run(event, configuration(), context.aws_request_id, _session(), budget)


def _session() -> boto3.session.Session:
    return boto3.session.Session()

"""The scheduled Lambda function: `hsm_backup_audit.handler.lambda_handler`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from .configuration import configuration, validated_configuration
from .observability import logger, metrics, tracer
from .scheduled_audit import TimeBudget, run_scheduled_audit


@validated_configuration
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled_audit(
        configuration(),
        TimeBudget(context.get_remaining_time_in_millis),
        request_id=context.aws_request_id,
    )

"""Logger, Tracer and Metrics for the Lambda function, created once and imported everywhere.

The namespace comes from POWERTOOLS_METRICS_NAMESPACE and the service from
POWERTOOLS_SERVICE_NAME, with the project's defaults, so the CDK stack's dashboard
and alarms (which import the same constants) always match what is emitted.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

from .constants import (
    ENV_METRICS_NAMESPACE,
    ENV_SERVICE_NAME,
    METRICS_NAMESPACE_DEFAULT,
    SERVICE_NAME,
)

service = os.environ.get(ENV_SERVICE_NAME) or SERVICE_NAME
namespace = os.environ.get(ENV_METRICS_NAMESPACE) or METRICS_NAMESPACE_DEFAULT

logger = Logger(service=service)
tracer = Tracer(service=service)
metrics = Metrics(namespace=namespace, service=service)

"""Fixtures for the Lambda function: its environment, a topic with an inbox, a report
bucket, clean Powertools state, and readers for what it prints (EMF and JSON logs)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hsm_backup_audit.configuration import configuration
from hsm_backup_audit.observability import logger, metrics
from hsm_backup_audit_demo.invoke_local import (
    Inbox,
    create_report_bucket,
    create_topic_and_inbox,
)


@pytest.fixture(autouse=True)
def fresh_function_state() -> Iterator[None]:
    """Each test is a cold start: no cached configuration, no metrics left over,
    and the logger writes to the stdout pytest is capturing now."""
    configuration.cache_clear()
    metrics.clear_metrics()
    handler = logger.registered_handler
    if hasattr(handler, "setStream"):
        handler.setStream(sys.stdout)
    yield
    configuration.cache_clear()
    metrics.clear_metrics()


@pytest.fixture
def wall_now() -> datetime:
    """The handler scans at the real time, so its fleets are seeded relative to it."""
    return datetime.now(UTC)


@pytest.fixture
def inbox(aws: None) -> Inbox:
    return create_topic_and_inbox()


@pytest.fixture
def bucket(aws: None) -> str:
    return create_report_bucket()


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, inbox: Inbox, bucket: str) -> dict[str, str]:
    """The environment the CDK stack gives the function (defaults for the rest)."""
    env = {"TOPIC_ARN": inbox.topic_arn, "REPORT_BUCKET": bucket, "REGIONS": "us-east-1"}
    for key in ("POLICY_FILE", "NOTIFY", "MEMBER_ROLE_ARNS", "EXTERNAL_ID", "MAX_WORKERS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def printed_json(out: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON: a line that is not JSON fails the test."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def emf_documents(out: str) -> list[dict[str, Any]]:
    return [doc for doc in printed_json(out) if "_aws" in doc]


def emf_values(out: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(metric name, sorted non-service dimensions): value} over every EMF document."""
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for doc in emf_documents(out):
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = sorted(
                (name, doc[name])
                for dim_set in directive["Dimensions"]
                for name in dim_set
                if name != "service"
            )
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                values[(metric["Name"], tuple(dims))] = (
                    value[0] if isinstance(value, list) else value
                )
    return values


def log_records(out: str) -> list[dict[str, Any]]:
    return [doc for doc in printed_json(out) if "_aws" not in doc and "level" in doc]

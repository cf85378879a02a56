"""Fixtures for the Lambda function: its environment, a topic with an inbox, a report
bucket, clean Powertools state, and readers for what it prints (EMF and JSON logs)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hsm_backup_audit.configuration import configuration
from hsm_backup_audit.observability import logger, metrics
from hsm_backup_audit_demo.invoke_local import (
    Inbox,
    create_report_bucket,
    create_topic_and_inbox,
)


class _CurrentStdout:
    """Whatever sys.stdout is at the time of writing (pytest swaps it per test)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture(autouse=True)
def fresh_function_state() -> Iterator[None]:
    """Each test is a cold start: no cached configuration, no metrics or log keys left
    over, and the logger prints where pytest captures (as print() and EMF do)."""
    configuration.cache_clear()
    metrics.clear_metrics()
    logger.clear_state()
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.stream = _CurrentStdout()
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
    for key in (
        "POLICY_FILE",
        "NOTIFY",
        "MEMBER_ROLE_ARNS",
        "EXTERNAL_ID",
        "MAX_WORKERS",
        "ORGANIZATION",
        "MEMBER_ROLE_NAME",
        "ORGANIZATIONAL_UNITS",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env

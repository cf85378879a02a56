"""A retried invocation (same Lambda request id) never sends the digest twice."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from hsm_backup_audit.aws.delivery import DeliveryError, delivery_marker_key
from hsm_backup_audit.configuration import load_configuration
from hsm_backup_audit.scheduled_audit import TimeBudget, run_scheduled_audit
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import Inbox

REQUEST_ID = "0c5f8d2e-7a41-4b0e-9d6a-3f2e1c4b5a69"
BUDGET = TimeBudget(lambda: 900_000)


class ReportStore:
    """S3 refusing the report's keys (reports/...) while `broken`, as a throttled or
    briefly denied bucket prefix would; other keys (the delivery marker) still work."""

    def __init__(self) -> None:
        self.broken = True

    def refuse(self, params: dict[str, Any], **_: Any) -> None:
        if self.broken and str(params.get("Key", "")).startswith("reports/"):
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}},
                "PutObject",
            )


def healthy(fleet: Fleet, now: datetime) -> None:
    cluster = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, cluster, days=30, now=now)


def session_with(store: ReportStore) -> boto3.session.Session:
    session = boto3.session.Session()
    session.events.register("before-parameter-build.s3.PutObject", store.refuse)
    return session


def keys(bucket: str) -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


def test_a_retry_after_the_report_failed_stores_it_but_does_not_publish_again(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime
) -> None:
    # Given a run whose report cannot be stored: the digest goes out, the invocation fails
    healthy(fleet, wall_now)
    config = load_configuration(os.environ)
    store = ReportStore()
    session = session_with(store)
    with pytest.raises(DeliveryError, match="SlowDown"):
        run_scheduled_audit(config, BUDGET, REQUEST_ID, session)
    assert len(inbox.messages()) == 1
    bucket = lambda_env["REPORT_BUCKET"]
    # When Lambda retries the same invocation (same request id) and S3 works again
    store.broken = False
    summary = run_scheduled_audit(config, BUDGET, REQUEST_ID, session)
    # Then no second digest is published, the report is stored this time,
    assert inbox.messages() == []
    assert summary["published"] is False
    assert summary["published_by_an_earlier_attempt"] is True
    assert "reports/123456789012/latest.json" in keys(bucket)
    # and the marker names the first attempt's message
    marker = boto3.client("s3").get_object(Bucket=bucket, Key=delivery_marker_key(REQUEST_ID))
    assert json.loads(marker["Body"].read())["message_id"]


def test_another_invocation_publishes_its_own_digest(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime
) -> None:
    # Given one invocation delivered in full
    healthy(fleet, wall_now)
    config = load_configuration(os.environ)
    first = run_scheduled_audit(config, BUDGET, REQUEST_ID, boto3.session.Session())
    # When the next scheduled run comes (a new request id)
    second = run_scheduled_audit(config, BUDGET, "a-later-invocation", boto3.session.Session())
    # Then it publishes too: the marker is per invocation, not per day or per report
    assert first["published"] and second["published"]
    assert len(inbox.messages()) == 2
    assert {delivery_marker_key(REQUEST_ID), delivery_marker_key("a-later-invocation")} <= keys(
        lambda_env["REPORT_BUCKET"]
    )


def test_a_marker_that_cannot_be_read_means_publishing_anyway(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a report bucket the function cannot reach (no marker can be read or written)
    healthy(fleet, wall_now)
    monkeypatch.setenv("REPORT_BUCKET", "no-such-audit-bucket")
    config = load_configuration(os.environ)
    # When a run and its retry happen
    for _ in range(2):
        with pytest.raises(DeliveryError):
            run_scheduled_audit(config, BUDGET, REQUEST_ID, boto3.session.Session())
    # Then each attempt sent its digest: a second email rather than none
    assert len(inbox.messages()) == 2

"""Delivery faults: deliver whatever can be delivered, then fail the invocation loudly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest
from lambda_output import emf_values, log_records

from hsm_backup_audit.aws.delivery import DeliveryError, report_keys, run_id_for
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    Inbox,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import Fault, FleetServer


def healthy(fleet: Fleet, now: datetime) -> None:
    cluster = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, cluster, days=30, now=now)


def test_a_deleted_topic_fails_the_invocation_after_storing_the_report_and_metrics(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime, capsys: Any
) -> None:
    # Given the digest topic was deleted
    healthy(fleet, wall_now)
    boto3.client("sns").delete_topic(TopicArn=inbox.topic_arn)
    # When the handler runs
    with pytest.raises(DeliveryError) as raised:
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then the invocation fails naming the topic and the error,
    assert f"publish to {inbox.topic_arn}: NotFound" in str(raised.value)
    # the report was still stored, the metrics still flushed, and the failure logged
    listed = boto3.client("s3").list_objects_v2(Bucket=lambda_env["REPORT_BUCKET"])
    assert "reports/123456789012/latest.json" in {o["Key"] for o in listed["Contents"]}
    assert emf_values(out)[("BackupsScanned", ())] == 30
    failed = [r for r in log_records(out) if r["message"] == "delivery failed"]
    assert failed and failed[0]["level"] == "ERROR"
    assert failed[0]["summary"]["published"] is False


def test_a_missing_report_bucket_still_sends_the_digest_saying_so_then_fails(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a report bucket that does not exist (or denies the function)
    healthy(fleet, wall_now)
    monkeypatch.setenv("REPORT_BUCKET", "no-such-audit-bucket")
    # When the handler runs
    with pytest.raises(DeliveryError) as raised:
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    # Then the digest still went out, saying the report could not be stored and why,
    (message,) = inbox.messages()
    assert message["Subject"].startswith("[COMPLIANT]")
    assert (
        "Report:    COULD NOT BE STORED: s3://no-such-audit-bucket/reports/" in message["Message"]
    )
    assert "NoSuchBucket" in message["Message"]
    # and the invocation fails, so retries, the DLQ and the Errors alarm see it
    assert "s3://no-such-audit-bucket/reports/123456789012/" in str(raised.value)


@pytest.mark.parametrize("code", ["AuthorizationError", "KMSDisabled", "KMSAccessDenied"])
def test_publish_denied_or_kms_key_disabled_fails_the_invocation_after_the_report_is_stored(
    code: str,
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    monkeypatch: pytest.MonkeyPatch,
    wall_now: datetime,
    capsys: Any,
) -> None:
    # Given SNS refusing every publish (no permission, or the topic's KMS key disabled),
    # behind a moto server reached through AWS_ENDPOINT_URL as in Lambda
    _, fleet = server_fleet
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    healthy(fleet, wall_now)
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", bucket)
    monkeypatch.setenv("REGIONS", PRIMARY)
    fleet_server.layer.faults.append(Fault("deny", operation="Publish", code=code))
    # When the handler runs
    with pytest.raises(DeliveryError) as raised:
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then the invocation fails naming the topic and the code, nothing was published,
    assert f"publish to {inbox.topic_arn}: {code}" in str(raised.value)
    assert inbox.messages() == []
    # and the report was still stored and the metrics still flushed
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    assert "reports/123456789012/latest.json" in {o["Key"] for o in listed["Contents"]}
    assert emf_values(out)[("BackupsScanned", ())] == 30


def sample_report() -> Report:
    return Report(
        status=Status.NON_COMPLIANT,
        generated_at=datetime(2026, 3, 4, 5, 6, 7),
        scope=Scope(("us-east-1",), "123456789012", ("123456789012",), True),
        backups_scanned=3,
        findings=[],
        errors=[],
    )


def test_report_keys_are_dated_per_account_with_a_stable_latest() -> None:
    # Given a run at 2026-03-04 05:06:07 UTC with a Lambda request id
    report = sample_report()
    # When its run id and keys are made
    run_id = run_id_for(report.generated_at, "8f1c0a4e-1111-4222-8333-944445555666\n../x")
    # Then they sort by time, keep only safe characters, and latest.json is per account
    assert run_id == "20260304T050607Z-8f1c0a4e-1111-4222-8333-944445555666x"
    assert report_keys(report, run_id) == (
        f"reports/123456789012/2026/03/04/{run_id}.json",
        "reports/123456789012/latest.json",
    )

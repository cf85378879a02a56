"""The scheduled function with REGIONS=all and SECURITY_HUB=true: when a member's enabled
regions cannot be read (DescribeRegions denied for it alone; the error entry names the
home region while the member's region is in the run's scope through the caller), the
member's findings are not checked this run: never resolved, never archived."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import Fault, FleetServer, describe_regions_answer

OWN = "123456789012"
MEMBER = "222222222222"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
ENABLED = describe_regions_answer(dict.fromkeys([PRIMARY, SECONDARY], "opt-in-not-required"))


@pytest.fixture
def setting(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[FleetServer, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    for key in ("POLICY_FILE", "EXTERNAL_ID", "MAX_WORKERS", "WEEKLY_DIGEST_DAY"):
        monkeypatch.delenv(key, raising=False)
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", bucket)
    monkeypatch.setenv("REGIONS", "all")
    monkeypatch.setenv("AWS_DEFAULT_REGION", PRIMARY)
    monkeypatch.setenv("NOTIFY", "always")
    monkeypatch.setenv("MEMBER_ROLE_ARNS", MEMBER_ROLE)
    monkeypatch.setenv("SECURITY_HUB", "true")
    for account in (OWN, MEMBER):
        for region in (PRIMARY, SECONDARY):
            securityhub_backends[account][region].findings.clear()
    return fleet_server, bucket


def stored_report(bucket: str, summary: dict[str, Any]) -> dict[str, Any]:
    key = summary["report"].removeprefix(f"s3://{bucket}/")
    return dict(json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_a_member_whose_regions_cannot_be_listed_is_not_checked_nor_archived(
    setting: tuple[FleetServer, str],
) -> None:
    server, bucket = setting
    now = datetime.now(UTC)
    # Given a caller with a healthy cluster in SECONDARY and a member with a pinned backup
    own, member = Fleet(OWN), Fleet(MEMBER, seed=11)
    own.add_daily_backups(SECONDARY, own.add_cluster(SECONDARY, retention_days=90), days=3, now=now)
    cluster = member.add_cluster(SECONDARY, retention_days=90)
    member.add_daily_backups(SECONDARY, cluster, days=3, now=now)
    pinned = member.add_backup(
        SECONDARY, cluster, created=now - timedelta(days=1), never_expires=True
    )
    hub_id = f"hsm-backup-audit/{finding_id('never-expires', MEMBER, SECONDARY, cluster, pinned)}"
    server.layer.faults = [Fault("reply", operation="DescribeRegions", reply=ENABLED)]
    first = lambda_handler(SCHEDULED_EVENT, LocalContext())
    assert first["status"] == "NON_COMPLIANT"
    findings = {f.id: f.data for f in securityhub_backends[MEMBER][SECONDARY].findings}
    assert findings[hub_id]["RecordState"] == "ACTIVE"
    # When the member's DescribeRegions is denied (the caller's is answered)
    server.layer.faults = [
        Fault("deny", operation="DescribeRegions", when=lambda c: c.access_key != "testing"),
        Fault("reply", operation="DescribeRegions", reply=ENABLED),
    ]
    second = lambda_handler(SCHEDULED_EVENT, LocalContext())
    # Then the run is INCOMPLETE, the member's finding is not checked, and stays ACTIVE
    assert second["status"] == "INCOMPLETE"
    assert second["resolved_findings"] == 0
    changes = stored_report(bucket, second)["changes"]
    assert [entry["backup_id"] for entry in changes["not_checked"]] == [pinned]
    findings = {f.id: f.data for f in securityhub_backends[MEMBER][SECONDARY].findings}
    assert findings[hub_id]["RecordState"] == "ACTIVE"

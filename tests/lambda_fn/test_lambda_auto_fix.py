"""AUTO_FIX=never-expires: the scheduled run sets NeverExpires back on this account's
backups after the audit (never a deletion, never a member's or the last restore point),
journals it to the report bucket, and says in the digest exactly what it changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    BUCKET_NAME,
    SCHEDULED_EVENT,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import FleetServer

OWN, MEMBER = "123456789012", "222222222222"


@pytest.mark.parametrize("auto_fix", ["never-expires", ""])
def test_auto_fix_changes_only_never_expires_and_says_so(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    monkeypatch: pytest.MonkeyPatch,
    auto_fix: str,
) -> None:
    # Given this account's pinned backup, its pinned newest backup, a NON_FIPS one, and a
    # member's pinned backup
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    inbox = create_topic_and_inbox()
    for key, value in {
        "TOPIC_ARN": inbox.topic_arn,
        "REPORT_BUCKET": create_report_bucket(),
        "REGIONS": PRIMARY,
        "NOTIFY": "always",
        "MEMBER_ROLE_ARNS": f"arn:aws:iam::{MEMBER}:role/audit",
        "AUTO_FIX": auto_fix,
    }.items():
        monkeypatch.setenv(key, value)
    now = datetime.now(UTC)
    own, member = Fleet(OWN), Fleet(MEMBER, seed=3)
    cluster = own.add_cluster(PRIMARY, retention_days=90)
    daily = own.add_daily_backups(PRIMARY, cluster, days=5, now=now)
    pinned, newest = daily[2], daily[0]
    for backup_id in (pinned, newest):
        own.backend(PRIMARY).backups[backup_id].never_expires = True
    non_fips = own.add_backup(PRIMARY, cluster, created=now - timedelta(days=9), mode="NON_FIPS")
    member_cluster = member.add_cluster(PRIMARY)
    member_daily = member.add_daily_backups(PRIMARY, member_cluster, days=3, now=now)
    member.backend(PRIMARY).backups[member_daily[1]].never_expires = True
    # When the scheduled run goes
    lambda_handler(SCHEDULED_EVENT, LocalContext())
    digest = inbox.messages()[-1]["Message"]
    backups = own.backend(PRIMARY).backups
    if not auto_fix:  # Then with the setting off nothing changes and nothing is said
        assert backups[pinned].never_expires is True
        assert "AUTOMATIC FIXES" not in digest
        assert not fleet_server.layer.calls_to("ModifyBackupAttributes")
        return
    # Then only this account's pinned backup changed; nothing was deleted
    assert backups[pinned].never_expires is False
    assert backups[newest].never_expires is True
    assert backups[non_fips].backup_state == "READY"
    assert member.backend(PRIMARY).backups[member_daily[1]].never_expires is True
    assert not fleet_server.layer.calls_to("DeleteBackup")
    # And the digest says exactly what changed, and where the journal is
    assert "AUTOMATIC FIXES: NeverExpires set to false on 1 backup(s)" in digest
    assert f"  changed {pinned}" in digest
    s3 = boto3.client("s3", region_name=PRIMARY)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET_NAME)["Contents"]]
    (journal_key,) = [k for k in keys if k.startswith("fixes/")]
    assert f"s3://{BUCKET_NAME}/{journal_key}" in digest
    body = s3.get_object(Bucket=BUCKET_NAME, Key=journal_key)["Body"].read().decode()
    entries = [json.loads(line) for line in body.splitlines()]
    assert [(e["event"], e.get("outcome")) for e in entries] == [
        ("before", None),
        ("after", "applied"),
    ]

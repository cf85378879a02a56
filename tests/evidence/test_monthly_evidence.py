"""The stack's monthly evidence: the first run of a month writes last month's page and CSV
to evidence/<scope>/<YYYY-MM>.html and .csv, and its digest links to them; the next run
writes nothing again. The Lambda's own run path (scan, finish_run) on moto."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from hsm_backup_audit.aws.monthly_evidence import evidence_scope_key, previous_month
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.configuration import load_configuration
from hsm_backup_audit.scheduled_audit import finish_run, history_scope
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import create_report_bucket, create_topic_and_inbox

POLICY = {
    "exemptions": [
        {
            "cluster_id": "cluster-x",
            "rules": ["stale-cluster"],
            "reason": "decommissioning",
            "expires": "2026-06-30",
        }
    ]
}


@pytest.fixture
def setting(fleet: Fleet, tmp_path: Any) -> Any:
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    boto3.client("s3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(POLICY))
    config = load_configuration(
        {
            "TOPIC_ARN": inbox.topic_arn,
            "REPORT_BUCKET": bucket,
            "REGIONS": PRIMARY,
            "NOTIFY": "changes",
            "AWS_REGION": PRIMARY,
            "POLICY_FILE": str(policy_file),
        }
    )
    cluster = fleet.add_cluster(PRIMARY)
    bad = fleet.add_backup(
        PRIMARY, cluster, created=datetime(2026, 2, 1, tzinfo=UTC), mode="NON_FIPS"
    )

    def run(at: datetime) -> str:
        fleet.add_backup(PRIMARY, cluster, created=at - timedelta(hours=1))
        report = scan(ScanRequest(regions=(PRIMARY,), policy=config.policy, now=at))
        finish_run(report, config, f"r-{at:%m%d}", boto3.session.Session())
        messages = inbox.messages()
        return "".join(m["Message"] for m in messages)

    return run, bucket, config, bad


def test_the_first_run_of_a_month_writes_last_months_page_and_links_to_it(setting: Any) -> None:
    run, bucket, config, bad = setting
    s3 = boto3.client("s3")
    for day in (27, 28):
        run(datetime(2026, 2, day, 6, tzinfo=UTC))
    assert s3.list_objects_v2(Bucket=bucket, Prefix="evidence/")["KeyCount"] == 0
    # When the first run of March
    digest = run(datetime(2026, 3, 1, 6, tzinfo=UTC))
    # Then February's page and CSV are there, under the scope without the policy
    scope = evidence_scope_key(history_scope(config))
    key = f"evidence/{scope}/2026-02"
    listed = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="evidence/")["Contents"]
    )
    assert listed == [f"{key}.csv", f"{key}.html"]
    page = s3.get_object(Bucket=bucket, Key=f"{key}.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    html = page["Body"].read().decode()
    assert "Period 2026-02-01 to 2026-02-28" in html
    assert 'data-figure="days-audited">2 / 28<' in html  # the 27th and 28th of 28 days
    assert "decommissioning" in html and "2026-06-30" in html  # the policy's exemption
    rows = list(
        csv.DictReader(
            s3.get_object(Bucket=bucket, Key=f"{key}.csv")["Body"].read().decode().splitlines()
        )
    )
    assert [(r["rule"], r["backup_id"], r["resolved_at"]) for r in rows] == [("mode", bad, "")]
    # And the digest of that run (NOTIFY=changes had nothing else to say) links to the page
    assert f"https://console.aws.amazon.com/s3/object/{bucket}?prefix={key}.html" in digest
    assert f"aws s3 cp s3://{bucket}/{key}.html ." in digest
    # The next run writes nothing again and says nothing of it
    versions = s3.list_object_versions(Bucket=bucket, Prefix="evidence/")["Versions"]
    digest = run(datetime(2026, 3, 2, 6, tzinfo=UTC))
    assert s3.list_object_versions(Bucket=bucket, Prefix="evidence/")["Versions"] == versions
    assert "evidence" not in digest.lower()


def test_previous_month() -> None:
    assert previous_month(datetime(2026, 3, 1).date()) == (
        datetime(2026, 2, 1).date(),
        datetime(2026, 2, 28).date(),
    )
    assert previous_month(datetime(2026, 1, 15).date())[0] == datetime(2025, 12, 1).date()

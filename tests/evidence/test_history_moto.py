"""A run history built on moto over simulated days by the Lambda's own run path (scan, then
finish_run: report, changes, history), read back by `hsm-backup-audit evidence s3://...`,
and its CSV checked line by line: a fix, new findings, a missed day, an INCOMPLETE day."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.cli import main
from hsm_backup_audit.configuration import load_configuration
from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.scheduled_audit import finish_run
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import create_report_bucket, create_topic_and_inbox
from hsm_backup_audit_demo.server import Fault, FleetServer

ACCOUNT = "123456789012"
DAY1 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY1 + timedelta(days=n - 1)


@pytest.fixture
def history(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, dict[str, str]]:
    url, fleet = server_fleet
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    boto3.client("s3").put_bucket_versioning(  # as the stack's report bucket is
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    config = load_configuration(
        {
            "TOPIC_ARN": inbox.topic_arn,
            "REPORT_BUCKET": bucket,
            "REGIONS": f"{PRIMARY},{SECONDARY}",
            "NOTIFY": "always",
            "AWS_REGION": PRIMARY,
        }
    )
    main_cluster = fleet.add_cluster(PRIMARY)
    legacy = fleet.add_cluster(SECONDARY)
    ids: dict[str, str] = {"main": main_cluster, "legacy": legacy}

    def run(n: int) -> None:
        for cluster, region in ((main_cluster, PRIMARY), (legacy, SECONDARY)):
            fleet.add_backup(region, cluster, created=day(n) - timedelta(hours=1))  # daily
        session = boto3.session.Session()
        report = scan(ScanRequest(regions=(PRIMARY, SECONDARY), policy=Policy(), now=day(n)))
        finish_run(report, config, f"request-{n}", session)

    # Day 1: a NON_FIPS backup in SECONDARY, a never-expiring one in PRIMARY
    ids["old"] = fleet.add_backup(
        SECONDARY, legacy, created=day(1) - timedelta(days=2), mode="NON_FIPS"
    )
    ids["forever"] = fleet.add_backup(
        PRIMARY, main_cluster, created=day(1) - timedelta(days=3), never_expires=True
    )
    run(1)
    # Day 2: the never-expiring one fixed; a new NON_FIPS backup in PRIMARY
    fleet.backend(PRIMARY).backups[ids["forever"]].never_expires = False
    ids["new"] = fleet.add_backup(
        PRIMARY, main_cluster, created=day(2) - timedelta(hours=3), mode="NON_FIPS"
    )
    run(2)
    # Day 3: no run. Day 4: SECONDARY cannot be read (INCOMPLETE); the new one is fixed
    fleet.backend(PRIMARY).backups[ids["new"]].mode = "FIPS"
    fleet_server.layer.faults.append(Fault("deny", operation="DescribeBackups", region=SECONDARY))
    run(4)
    fleet_server.layer.faults.clear()
    # Day 5: complete again; the old NON_FIPS backup is still there
    run(5)
    return url, bucket, ids


def test_the_csv_from_the_bucket_holds_each_lifecycle_line_by_line(
    history: tuple[str, str, dict[str, str]], tmp_path: Path, capsys: Any
) -> None:
    url, bucket, ids = history
    out, lifecycle = tmp_path / "evidence.html", tmp_path / "lifecycle.csv"
    code = main(
        [
            "evidence",
            f"s3://{bucket}",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-05",
            "--out",
            str(out),
            "--csv",
            str(lifecycle),
            "--endpoint-url",
            url,
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = list(csv.reader(lifecycle.read_text(encoding="utf-8").splitlines()))

    def fid(rule: str, region: str, cluster: str, backup: str) -> str:
        return finding_id(rule, ACCOUNT, region, cluster, backup)

    t = {n: day(n).strftime("%Y-%m-%dT%H:%M:%SZ") for n in (1, 2, 4, 5)}
    assert rows == [
        [
            "id",
            "rule",
            "severity",
            "account_id",
            "region",
            "cluster_id",
            "backup_id",
            "first_seen",
            "last_seen",
            "resolved_at",
            "days_open",
            "resolved_reason",
        ],
        # fixed on day 2, by the run's changes (resolved)
        [
            fid("never-expires", PRIMARY, ids["main"], ids["forever"]),
            "never-expires",
            "HIGH",
            ACCOUNT,
            PRIMARY,
            ids["main"],
            ids["forever"],
            t[1],
            t[1],
            t[2],
            "1.0",
            "fixed",
        ],
        # new on day 2, fixed on day 4: the INCOMPLETE run still saw PRIMARY
        [
            fid("mode", PRIMARY, ids["main"], ids["new"]),
            "mode",
            "HIGH",
            ACCOUNT,
            PRIMARY,
            ids["main"],
            ids["new"],
            t[2],
            t[2],
            t[4],
            "2.0",
            "fixed",
        ],
        # never resolved: day 4 could not see SECONDARY, day 5 saw it again
        [
            fid("mode", SECONDARY, ids["legacy"], ids["old"]),
            "mode",
            "HIGH",
            ACCOUNT,
            SECONDARY,
            ids["legacy"],
            ids["old"],
            t[1],
            t[5],
            "",
            "4.0",
            "",
        ],
    ]
    page = out.read_text(encoding="utf-8")
    # The integrity section names each report's key, version id and SHA-256
    s3 = boto3.client("s3")
    keys = sorted(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]
        if not o["Key"].endswith("latest.json")
    )
    assert len(keys) == 4
    for key in keys:
        stored = s3.get_object(Bucket=bucket, Key=key)
        digest = hashlib.sha256(stored["Body"].read()).hexdigest()
        row = page.split(f"s3://{bucket}/{key}")[1].split("</tr>")[0]
        assert stored["VersionId"] in row and digest in row
    assert "2026-03-03" in page.split('id="missed-days"')[1].split("</p>")[0]

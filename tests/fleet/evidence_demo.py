"""`python -m hsm_backup_audit_demo.evidence_demo OUT_DIR`: a month of the demo fleet, run
day by day by the Lambda's run path (scan, finish_run) on a local moto server, then
`hsm-backup-audit evidence s3://...` over it: OUT_DIR/evidence.html and lifecycle.csv, and
with --screenshot FILE a PNG of the page's top in the system Chromium (docs/evidence.md).

The month: the pinned PKI backup is unpinned on the 5th; a NON_FIPS cluster appears on the
9th and is deleted on the 20th; no run on the 12th; on the 17th eu-west-1 cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .fleet import PRIMARY, SECONDARY, seed_demo_fleet
from .invoke_local import create_report_bucket, create_topic_and_inbox
from .server import Fault, FleetServer

FIRST = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
DAYS = 30
MISSED, INCOMPLETE, UNPIN, NEW_CLUSTER, DELETE_CLUSTER = 12, 17, 5, 9, 20
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": PRIMARY,
    "AWS_REGION": PRIMARY,
}


def build_month(server: FleetServer) -> str:
    """Runs the month; returns the report bucket's name."""
    import boto3

    from hsm_backup_audit.aws.scanner import ScanRequest, scan
    from hsm_backup_audit.configuration import load_configuration
    from hsm_backup_audit.scheduled_audit import finish_run

    fleet = seed_demo_fleet(FIRST)
    bucket = create_report_bucket()
    boto3.client("s3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    inbox = create_topic_and_inbox()
    config = load_configuration(
        {
            "TOPIC_ARN": inbox.topic_arn,
            "REPORT_BUCKET": bucket,
            "AWS_REGION": PRIMARY,
            "REGIONS": f"{PRIMARY},{SECONDARY}",
            "NOTIFY": "changes",
        }
    )
    legacy = None
    for day in range(1, DAYS + 1):
        now = FIRST + timedelta(days=day - 1)
        if day == UNPIN:
            for backup in fleet.backend(PRIMARY).backups.values():
                backup.never_expires = False
        if day == NEW_CLUSTER:
            legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
            fleet.add_daily_backups(SECONDARY, legacy, days=6, now=now, mode="NON_FIPS")
        if day == DELETE_CLUSTER and legacy:
            backups = fleet.backend(SECONDARY).backups
            for backup_id in [k for k, b in backups.items() if b.cluster_id == legacy]:
                del backups[backup_id]
            del fleet.backend(SECONDARY).clusters[legacy]
            legacy = None
        for region in (PRIMARY, SECONDARY):  # each cluster's daily backup (dev has none)
            for cluster in fleet.backend(region).clusters.values():
                if (cluster.backup_retention_policy or {}).get("Value") == "30":
                    continue
                fleet.add_backup(
                    region,
                    cluster.cluster_id,
                    created=now - timedelta(hours=1),
                    mode=cluster.mode,
                    hsm_type=cluster.hsm_type,
                )
        if day == MISSED:
            continue
        if day == INCOMPLETE:
            server.layer.faults.append(Fault("deny", operation="DescribeBackups", region=SECONDARY))
        report = scan(ScanRequest(regions=(PRIMARY, SECONDARY), policy=config.policy, now=now))
        finish_run(report, config, f"demo-{day:02d}", boto3.session.Session())
        server.layer.faults.clear()
        inbox.messages()
    return bucket


def screenshot(page: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.evidence.browser import FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        tab = browser.new_page(viewport={"width": 1000, "height": 1500})
        tab.goto(page.resolve().as_uri())
        tab.screenshot(path=str(out))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="evidence_demo", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    os.environ.update(FAKE_AWS)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = FleetServer().start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    try:
        from hsm_backup_audit.cli import main as cli
        from hsm_backup_audit.observability import logger

        logger.setLevel("ERROR")
        with contextlib.redirect_stdout(io.StringIO()):  # the runs' EMF and log lines
            bucket = build_month(server)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        page = args.out_dir / "evidence.html"
        code = cli(
            [
                "evidence",
                f"s3://{bucket}",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--out",
                str(page),
                "--csv",
                str(args.out_dir / "lifecycle.csv"),
            ]
        )
        if code == 0 and args.screenshot:
            screenshot(page, args.screenshot)
        return code
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())

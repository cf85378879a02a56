"""`python -m hsm_backup_audit_demo.changes_demo`: the digest of a run that has a baseline.

The Lambda handler runs twice under moto with NOTIFY=changes over the demo fleet; in
between, the pinned PKI backup is unpinned and a NON_FIPS cluster of 40 backups
appears. Prints the second email as a subscriber gets it (docs/changes.md shows it).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import UTC, datetime

from moto import mock_aws

from .fleet import PRIMARY, SECONDARY, seed_demo_fleet
from .invoke_local import (
    SCHEDULED_EVENT,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": PRIMARY,
    "AWS_REGION": PRIMARY,
}


def main() -> int:
    os.environ.update(FAKE_AWS)
    with mock_aws():
        from hsm_backup_audit.handler import lambda_handler
        from hsm_backup_audit.observability import logger

        logger.setLevel("WARNING")

        now = datetime.now(UTC)
        fleet = seed_demo_fleet(now)
        inbox = create_topic_and_inbox()
        os.environ.update(
            TOPIC_ARN=inbox.topic_arn,
            REPORT_BUCKET=create_report_bucket(),
            REGIONS=f"{PRIMARY},{SECONDARY}",
            NOTIFY="changes",
        )
        quiet = io.StringIO()  # the runs' EMF and log lines
        with contextlib.redirect_stdout(quiet):
            lambda_handler(SCHEDULED_EVENT, LocalContext())  # the baseline
        inbox.messages()
        for backup in fleet.backend(PRIMARY).backups.values():
            backup.never_expires = False
        legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
        fleet.add_daily_backups(SECONDARY, legacy, days=40, now=now, mode="NON_FIPS")
        with contextlib.redirect_stdout(quiet):
            lambda_handler(SCHEDULED_EVENT, LocalContext())
        for message in inbox.messages():
            attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
            print(f"Subject: {message['Subject']}")
            print(f"Message attributes: {json.dumps(attributes)}\n")
            print(message["Message"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

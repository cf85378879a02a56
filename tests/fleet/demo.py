"""`hsm-backup-audit demo`: the audit over an embedded moto fleet, offline."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from moto import mock_aws

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import STATUS_EXIT_CODE
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_json, to_text

from .fleet import PRIMARY, SECONDARY, seed_demo_fleet


def run(output_format: str = "text") -> int:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.setdefault("AWS_DEFAULT_REGION", PRIMARY)
    with mock_aws():
        now = datetime.now(UTC)
        seed_demo_fleet(now)
        report = scan(ScanRequest(regions=[PRIMARY, SECONDARY], policy=Policy(), now=now))
    if output_format == "json":
        sys.stdout.write(to_json(report) + "\n")
    else:
        sys.stdout.write(to_text(report))
        code = STATUS_EXIT_CODE[report.status]
        sys.stdout.write(
            f"\n(demo fleet in moto; `hsm-backup-audit scan` would exit {int(code)}: "
            f"{report.status})\n"
        )
    return 0

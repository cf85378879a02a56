"""The deploy variants CI checks (`make variants`): each is synthesized into its own
directory, with cdk-nag on (an unacknowledged finding fails its synth), then cfn-lint
reads every template there.

    python -m infra.variants OUTDIR      # writes OUTDIR/<variant>/, prints each directory
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .app import create_app
from .constants import ROOT

MEMBER_ACCOUNTS = ",".join(str(100_000_000_000 + n) for n in range(1_000))
EMAILS = "ops@example.com,security@example.com"
AUDIT_ACCOUNT = "999999999999"
ORGANIZATION_ID = "o-a1b2c3d4e5"

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {"notificationEmails": EMAILS},
    # every option of the single run on
    "every-option": {
        "notificationEmails": EMAILS,
        "reportExpirationDays": "400",
        "regions": "all",
        "memberAccounts": ",".join(MEMBER_ACCOUNTS.split(",")[:20]),
        "reservedConcurrency": "true",
        "securityHub": "true",
        "memberExternalId": "hsm-audit-7f3a",
        "auditAccountId": AUDIT_ACCOUNT,
        "schedule": "cron(30 6 ? * MON-FRI *)",
        "scheduleTimezone": "Europe/Paris",
        "notify": "findings",
        "weeklyDigestDay": "friday",
        "maxWorkers": "8",
        "logRetentionDays": "365",
    },
    "organization": {"notificationEmails": EMAILS, "organization": "true"},
    # a delegated administrator: units only, the member-role StackSet, Security Hub
    "organization-units": {
        "notificationEmails": EMAILS,
        "organization": "true",
        "organizationalUnits": "ou-ab12-11111111,ou-ab12-22222222",
        "memberRoleStackSet": "true",
        "stackSetCallAs": "DELEGATED_ADMIN",
        "auditAccountId": AUDIT_ACCOUNT,
        "securityHub": "true",
        "regions": "us-east-1,eu-west-1",
    },
    # 1,000 listed member accounts, fanned out
    "members-1000": {
        "notificationEmails": EMAILS,
        "memberAccounts": MEMBER_ACCOUNTS,
        "organizationId": ORGANIZATION_ID,
        "fanOut": "true",
        "regions": "all",
    },
}


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def synth_all(outdir: Path) -> list[Path]:
    directories = []
    for name, overrides in VARIANTS.items():
        started = time.monotonic()
        directory = outdir / name
        create_app({**cdk_json_context(), **overrides}, outdir=str(directory)).synth()
        print(f"{name}: {directory} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
        directories.append(directory)
    return directories


if __name__ == "__main__":
    synth_all(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out.variants"))

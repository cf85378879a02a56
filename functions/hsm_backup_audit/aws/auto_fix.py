"""The scheduled run's automatic fixes (opt-in, AUTO_FIX=never-expires): after the audit,
NeverExpires=false on the caller's own never-expiring backups, with every safety rail and
re-read of `fix --apply`, journalled to s3://REPORT_BUCKET/fixes/<run id>.jsonl. Never a
deletion, never another account's backup.

IAM: cloudhsm:ModifyBackupAttributes (granted only when the setting is on), plus the
DescribeBackups, DescribeClusters and s3:PutObject the function has already.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import AUTO_FIX_NEVER_EXPIRES, FIXES_KEY_PREFIX
from ..engine.audit import Report
from ..engine.policy import Policy
from ..engine.remediation import Filters, plan_fixes
from ..engine.report import to_document
from .errors import describe_exception
from .journal import Journal
from .remediation import Caller, Outcome, apply_plan
from .security_hub import AccountSessions


@dataclass
class AutoFixOutcome:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: int = 0  # ruled out by a safety rail in the plan
    journal_url: str | None = None
    problem: str | None = None  # the journal could not be stored


def auto_fix(
    report: Report,
    policy: Policy,
    session: boto3.session.Session,
    s3: BaseClient | None,
    bucket: str | None,
    should_stop: Callable[[], bool],
) -> AutoFixOutcome:
    """Plan the never-expires fixes of the caller's own account from the report, apply
    them, and store the journal."""
    filters = Filters(rules=(AUTO_FIX_NEVER_EXPIRES,), accounts=(report.scope.account_id,))
    today = datetime.now(UTC).date()
    plan = plan_fixes(to_document(report), filters, delete=False, policy=policy, today=today)
    out = AutoFixOutcome(skipped=len(plan.skipped))
    if not plan.actions:
        return out
    caller = Caller(AccountSessions(session), should_stop=should_stop)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fixes.jsonl"
        journal = Journal(path)
        try:
            out.outcomes = apply_plan(plan.actions, caller, journal, policy)
        finally:
            journal.close()
        if bucket and s3 is not None:
            key = f"{FIXES_KEY_PREFIX}/{report.run_id}.jsonl"
            try:
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=path.read_bytes(),
                    ContentType="application/x-ndjson",
                )
                out.journal_url = f"s3://{bucket}/{key}"
            except (ClientError, BotoCoreError) as exc:
                code, message = describe_exception(exc)
                out.problem = f"s3://{bucket}/{key}: {code}: {message}"
    return out

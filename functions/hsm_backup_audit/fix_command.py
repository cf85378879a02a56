"""`hsm-backup-audit fix` and `undo`: read the report (a file, `-` or s3://), plan in the
engine, print; with --apply carry the plan out through aws/remediation.py. Exit codes are
in fix_arguments.py."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .aws.errors import describe_exception
from .aws.journal import APPLIED, FAILED, NOT_UNDONE, SKIPPED, Journal, JournalError
from .aws.remediation import Caller, Outcome, apply_plan, undo_journal
from .aws.scanner import Deadline
from .aws.security_hub import AccountSessions
from .cli import UsageError
from .constants import MAX_REPORT_BYTES, ExitCode
from .engine.baseline import BaselineError, parse_baseline
from .engine.fix_render import plan_json, plan_shell, plan_text
from .engine.input_file import InputFileError, read_input_bytes, shown_path
from .engine.model import safe_text
from .engine.policy import PolicyError, load_policy_file
from .engine.remediation import Filters, PlanError, plan_fixes

S3_PREFIX = "s3://"


def _error(message: str) -> int:
    print(f"hsm-backup-audit: error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def read_report_source(source: str, session: boto3.session.Session, endpoint: str | None) -> Any:
    """The report document from a file, `-` (standard input) or s3://bucket/key, read and
    checked as `--baseline` is (size bound, strict JSON, schema version, finding ids)."""
    shown = shown_path(source)
    try:
        if source.startswith(S3_PREFIX):
            raw = _s3_bytes(source, session, endpoint)
        else:
            raw = read_input_bytes(
                source, limit=MAX_REPORT_BYTES, what="the report", noun="a report", stdin=True
            )
        return parse_baseline(raw, datetime.now(UTC))
    except InputFileError as exc:
        raise UsageError(str(exc)) from None
    except BaselineError as exc:
        raise UsageError(f"{shown}: {exc}") from None


def _s3_bytes(source: str, session: boto3.session.Session, endpoint: str | None) -> bytes:
    bucket, _, key = source[len(S3_PREFIX) :].partition("/")
    shown = shown_path(source)
    if not bucket or not key:
        raise UsageError(f"{shown}: expected s3://bucket/key")
    try:
        s3 = session.client("s3", endpoint_url=endpoint)
        raw = bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_REPORT_BYTES + 1))
    except (ClientError, BotoCoreError) as exc:
        code, message = describe_exception(exc)
        raise UsageError(f"{shown}: cannot read it: {code}: {message}") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise UsageError(f"{shown}: not a report: larger than {MAX_REPORT_BYTES:,} bytes")
    return raw


def _caller(args: argparse.Namespace, session: boto3.session.Session) -> Caller:
    sessions = AccountSessions(
        session,
        args.role_arn,
        args.external_id,
        args.endpoint_url,
        member_role_name=args.member_role_name,
    )
    deadline = Deadline(args.max_seconds)
    return Caller(sessions, args.endpoint_url, args.calls_per_second, deadline.should_stop)


def _outcome_line(outcome: Outcome) -> str:
    action = outcome.action
    reason = f": {outcome.reason}" if outcome.reason else ""
    return f"  {outcome.outcome} {action.action} {action.backup_id} {action.region}{reason}"


def _outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {"key": outcome.action.key, "outcome": outcome.outcome, "reason": outcome.reason}


def run_fix(args: argparse.Namespace) -> int:
    try:
        if args.apply and not args.journal:
            raise UsageError("--apply needs --journal FILE (every call is written to it)")
        if args.journal and not args.apply:
            raise UsageError("--journal is only used with --apply")
        if args.apply and args.format == "shell":
            raise UsageError("--format shell prints commands to run: not with --apply")
        policy = load_policy_file(args.policy)
        session = boto3.session.Session(profile_name=args.profile)
        document = read_report_source(args.report, session, args.endpoint_url)
        filters = Filters(
            tuple(args.rule),
            tuple(args.account),
            tuple(args.region),
            tuple(args.cluster),
            tuple(args.backup_id),
        )
        today = datetime.now(UTC).date()
        plan = plan_fixes(document, filters, delete=args.delete, policy=policy, today=today)
        journal = Journal(args.journal) if args.apply else None
    except (UsageError, PolicyError, PlanError, JournalError, BotoCoreError) as exc:
        return _error(safe_text(exc, 400))
    if journal is None:
        render = {"json": plan_json, "shell": plan_shell}.get(args.format, plan_text)
        sys.stdout.write(render(plan))
        return ExitCode.COMPLIANT
    try:
        outcomes = apply_plan(plan.actions, _caller(args, session), journal, policy)
    finally:
        journal.close()
    if args.format == "json":
        document = {**plan.to_dict(), "outcomes": [_outcome_dict(o) for o in outcomes]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(plan_text(plan) + "Outcomes:\n")
        sys.stdout.write("".join(_outcome_line(o) + "\n" for o in outcomes))
    kinds = {o.outcome for o in outcomes}
    if FAILED in kinds:
        return ExitCode.INCOMPLETE
    if SKIPPED in kinds or plan.skipped:
        return ExitCode.NON_COMPLIANT
    return ExitCode.COMPLIANT if all(k == APPLIED for k in kinds) else ExitCode.NON_COMPLIANT


def run_undo(args: argparse.Namespace) -> int:
    try:
        if not Path(args.journal).is_file():
            raise UsageError(f"{safe_text(args.journal, 200)}: no such journal file")
        session = boto3.session.Session(profile_name=args.profile)
        journal = Journal(args.journal)
    except (UsageError, JournalError, BotoCoreError) as exc:
        return _error(safe_text(exc, 400))
    try:
        outcomes = undo_journal(_caller(args, session), journal)
    except JournalError as exc:
        return _error(safe_text(exc, 400))
    finally:
        journal.close()
    if args.format == "json":
        document = {"outcomes": [_outcome_dict(o) for o in outcomes]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        lost = [o for o in outcomes if o.outcome == NOT_UNDONE]
        sys.stdout.write(f"Undo: {len(outcomes)} applied action(s) in the journal.\n")
        sys.stdout.write("".join(_outcome_line(o) + "\n" for o in outcomes))
        if lost:
            sys.stdout.write(f"{len(lost)} can no longer be undone (see above).\n")
    kinds = {o.outcome for o in outcomes}
    if FAILED in kinds:
        return ExitCode.INCOMPLETE
    return ExitCode.NON_COMPLIANT if NOT_UNDONE in kinds else ExitCode.COMPLIANT

"""The `fix` and `undo` commands' arguments (arguments.py adds them to the parser)."""

from __future__ import annotations

import argparse
import re

from .arguments import endpoint_url, external_id, role_arn, role_name, seconds
from .aws.remediation import DEFAULT_CALLS_PER_SECOND
from .constants import DEFAULT_MAX_SECONDS, Rule
from .engine.model import safe_text
from .regions import RegionError, check_region

FIX_EXIT_CODES = (
    "Exit codes: 0 a plan was printed, or everything planned was applied (undone); "
    "1 some actions were skipped (or can no longer be undone); 2 bad arguments, report or "
    "journal; 3 some calls failed or the time ran out (rerun with the same --journal)."
)
FIX_FORMATS = ["text", "json", "shell"]
MAX_CALLS_PER_SECOND = 50.0


def account(text: str) -> str:
    if not re.fullmatch(r"\d{12}", text):
        raise argparse.ArgumentTypeError(f"expected a 12-digit account id: {safe_text(text, 40)!r}")
    return text


def region(text: str) -> str:
    try:
        return check_region(text)
    except RegionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= MAX_CALLS_PER_SECOND:
        raise argparse.ArgumentTypeError(
            f"expected calls per second above 0, at most {MAX_CALLS_PER_SECOND:g} "
            f"(got {safe_text(text, 20)!r})"
        )
    return value


def _add_access(command: argparse.ArgumentParser) -> None:
    """How calls reach each account: as `scan` does."""
    command.add_argument("--profile", metavar="NAME", help="AWS profile to use")
    command.add_argument(
        "--endpoint-url", type=endpoint_url, metavar="URL", help="AWS-compatible endpoint"
    )
    command.add_argument(
        "--role-arn",
        action="append",
        type=role_arn,
        default=[],
        metavar="ARN",
        help="member-account role to act through in its account (repeatable)",
    )
    command.add_argument(
        "--member-role-name",
        type=role_name,
        metavar="NAME",
        help="role to assume in any other account that has no --role-arn",
    )
    command.add_argument("--external-id", type=external_id, metavar="ID", help="for AssumeRole")
    command.add_argument(
        "--max-seconds",
        type=seconds,
        default=DEFAULT_MAX_SECONDS,
        metavar="SECONDS",
        help=f"wall-clock bound: nothing starts after it (default {DEFAULT_MAX_SECONDS})",
    )
    command.add_argument(
        "--calls-per-second",
        type=rate,
        default=DEFAULT_CALLS_PER_SECOND,
        metavar="N",
        help=f"at most this many CloudHSM calls a second (default {DEFAULT_CALLS_PER_SECOND:g})",
    )


def add_fix_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fix = commands.add_parser(
        "fix",
        help="plan (and with --apply, carry out) the fixes a stored report calls for",
        description="Plan fixes from a stored report, without any AWS call; --apply carries "
        "the plan out, journalled and reversible. Never touched: shared backups, a "
        "cluster's newest READY backup, exempted backups, and accounts or regions the "
        "report did not read completely. " + FIX_EXIT_CODES,
    )
    fix.add_argument("report", metavar="REPORT", help="a JSON report file, - or s3://bucket/key")
    for flag, kind, what in (
        ("--rule", None, "rule"),
        ("--account", account, "account id"),
        ("--region", region, "region"),
        ("--cluster", None, "cluster id"),
        ("--backup-id", None, "backup id"),
    ):
        fix.add_argument(
            flag,
            action="append",
            default=[],
            type=kind,
            choices=[str(r) for r in Rule] if flag == "--rule" else None,
            metavar=flag.lstrip("-").replace("-", "_").upper(),
            help=f"only findings of this {what} (repeatable)",
        )
    fix.add_argument("--format", choices=FIX_FORMATS, default="text", help="how the plan prints")
    fix.add_argument("--apply", action="store_true", help="carry the plan out (needs --journal)")
    fix.add_argument(
        "--delete",
        action="store_true",
        help="plan DeleteBackup for overdue, mode and hsm-type findings (never by default)",
    )
    fix.add_argument(
        "--journal", metavar="FILE", help="JSON lines: each call before and after (resumable)"
    )
    fix.add_argument(
        "--policy",
        metavar="FILE",
        help="the policy whose current exemptions are never touched and whose allowed values "
        "the re-read checks (default: the documented defaults)",
    )
    _add_access(fix)

    undo = commands.add_parser(
        "undo",
        help="reverse what a fix journal applied",
        description="RestoreBackup for each deleted backup still PENDING_DELETION (7 days), "
        "NeverExpires=true again for each modified one; says what can no longer be undone. "
        + FIX_EXIT_CODES,
    )
    undo.add_argument("journal", metavar="JOURNAL", help="the --journal file of `fix --apply`")
    undo.add_argument("--format", choices=["text", "json"], default="text")
    _add_access(undo)

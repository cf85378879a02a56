"""The command line's arguments: the parser, and what each option takes (argparse `type`
checks whose errors name the option and say what is expected, never a private function's
name, one line each)."""

from __future__ import annotations

import argparse
import re
import urllib.parse
from datetime import date
from typing import Any, NoReturn

from . import __version__
from .aws.cloudhsm import without_url_credentials
from .constants import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MAX_WORKERS,
    DEFAULT_MEMBER_ROLE_NAME,
    EXTERNAL_ID_PATTERN,
    MAX_SECONDS_LIMIT,
    MAX_WORKERS_LIMIT,
    ORGANIZATIONAL_UNIT_PATTERN,
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
    ExitCode,
)
from .engine.model import safe_text


def _matching(pattern: str, text: str, expected: str) -> str:
    """`text` when it matches `pattern`, else one line saying what was expected."""
    if not re.fullmatch(pattern, text):
        raise argparse.ArgumentTypeError(f"{expected}: {safe_text(text, 80)!r}")
    return text


def role_arn(text: str) -> str:
    return _matching(ROLE_ARN_PATTERN, text, "not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")


def external_id(text: str) -> str:
    if not re.fullmatch(EXTERNAL_ID_PATTERN, text):  # never echoed: say only what it must be
        raise argparse.ArgumentTypeError(
            "must be 2 to 1224 characters of letters, digits and _+=,.@:/-"
        )
    return text


def workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_WORKERS_LIMIT} (got {safe_text(text, 20)!r})"
        )
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= MAX_SECONDS_LIMIT:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0, at most {MAX_SECONDS_LIMIT} "
            f"(got {safe_text(text, 20)!r})"
        )
    return value


def endpoint_url(text: str) -> str:
    try:
        parts = urllib.parse.urlsplit(text)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or bracket: its text would quote the URL
        valid = False
    if not valid:
        shown = safe_text(without_url_credentials(text), 80)
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL (got {shown!r})")
    return text


def role_name(text: str) -> str:
    return _matching(
        ROLE_NAME_PATTERN, text, "not an IAM role name (1 to 64 letters, digits and _+=,.@-)"
    )


def organizational_unit(text: str) -> str:
    return _matching(
        ORGANIZATIONAL_UNIT_PATTERN, text, "not an organizational unit id (ou-xxxx-xxxxxxxx)"
    )


def day(text: str) -> date:
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD (got {safe_text(text, 20)!r})")


DESCRIPTION = (
    "Audit AWS CloudHSM v2 backups. Exit codes: 0 compliant, 1 non-compliant, 2 bad "
    "arguments, policy or baseline file, 3 incomplete (the audit could not see everything). "
    "With --fail-on new, 1 means new findings above INFO since the baseline and 0 that there "
    "are none (3 still wins: an incomplete audit never passes). 130: interrupted; 141: the "
    "output was closed (e.g. | head). `fix` and `undo` have their own: see their --help."
)
FAIL_ON_STATUS, FAIL_ON_NEW = "status", "new"
FORMATS = ["text", "json", "partial"]
FORMAT_HELP = (
    "text (default): a summary in 80 columns; json: the report document; partial: the JSON "
    "report plus what `merge` needs"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _add_organization_arguments(scan_cmd: argparse.ArgumentParser) -> None:
    scan_cmd.add_argument(
        "--organization",
        action="store_true",
        help="audit every ACTIVE account of the AWS Organization (run from the management "
        "account or a delegated administrator); each member through --member-role-name",
    )
    scan_cmd.add_argument(
        "--member-role-name",
        type=role_name,
        metavar="NAME",
        help=f"role to assume in each member account (default {DEFAULT_MEMBER_ROLE_NAME})",
    )
    scan_cmd.add_argument(
        "--organizational-unit",
        action="append",
        type=organizational_unit,
        default=[],
        metavar="OU",
        help="with --organization: only the accounts under this unit and its child units "
        "(repeatable)",
    )


def _add_evidence_command(commands: Any) -> None:
    evidence = commands.add_parser(
        "evidence",
        help="one self-contained HTML page (and a CSV) that proves an audit period",
        description="Exit codes: 0 the page was written, 2 bad arguments or a source that "
        "cannot be read.",
    )
    evidence.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="the report bucket (s3://bucket[/prefix], read through its run history), or "
        "JSON report files and folders (scan --format json outputs)",
    )
    evidence.add_argument(
        "--from", dest="date_from", type=day, metavar="DATE", help="first UTC day, YYYY-MM-DD"
    )
    evidence.add_argument(
        "--to", dest="date_to", type=day, metavar="DATE", help="last UTC day, YYYY-MM-DD"
    )
    evidence.add_argument("--out", required=True, metavar="FILE", help="the HTML page to write")
    evidence.add_argument("--csv", metavar="FILE", help="also write one CSV row per finding")
    evidence.add_argument("--profile", metavar="NAME", help="AWS profile for an s3:// source")
    evidence.add_argument(
        "--endpoint-url", type=endpoint_url, metavar="URL", help="S3-compatible endpoint (moto)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hsm-backup-audit", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan_cmd = commands.add_parser("scan", help="audit the CloudHSM v2 backups an account can see")
    scan_cmd.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="REGION",
        help="region to audit (repeatable, or comma-separated); 'all' for every region "
        "enabled for the account; default: AWS_REGION, AWS_DEFAULT_REGION or the profile's",
    )
    scan_cmd.add_argument(
        "--policy", metavar="FILE", help="policy JSON file (default: the documented defaults)"
    )
    scan_cmd.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    scan_cmd.add_argument(
        "--profile", metavar="NAME", help="AWS profile to use (default: AWS_PROFILE, or none)"
    )
    scan_cmd.add_argument(
        "--endpoint-url",
        type=endpoint_url,
        metavar="URL",
        help="AWS-compatible endpoint for every client (moto, LocalStack)",
    )
    scan_cmd.add_argument(
        "--role-arn",
        action="append",
        type=role_arn,
        default=[],
        metavar="ARN",
        help="member-account role to assume and audit as well (repeatable)",
    )
    scan_cmd.add_argument(
        "--external-id",
        type=external_id,
        metavar="ID",
        help="external id for --role-arn and the member roles of --organization",
    )
    scan_cmd.add_argument(
        "--max-workers",
        type=workers,
        default=DEFAULT_MAX_WORKERS,
        metavar="N",
        help=f"listings read side by side, 1 to {MAX_WORKERS_LIMIT} "
        f"(default {DEFAULT_MAX_WORKERS})",
    )
    scan_cmd.add_argument(
        "--max-seconds",
        type=seconds,
        default=DEFAULT_MAX_SECONDS,
        metavar="SECONDS",
        help="wall-clock bound for the run: what is unfinished then is reported as "
        f"DeadlineExceeded and the exit code is 3 (default {DEFAULT_MAX_SECONDS})",
    )
    _add_organization_arguments(scan_cmd)

    scan_cmd.add_argument(
        "--baseline",
        metavar="REPORT.json",
        help="an earlier `--format json` report (or - for standard input, read within "
        "--max-seconds): print and report what changed since it",
    )
    scan_cmd.add_argument(
        "--fail-on",
        choices=[FAIL_ON_STATUS, FAIL_ON_NEW],
        default=FAIL_ON_STATUS,
        help="exit 1 on any finding above INFO (status, the default), or only on new ones "
        "since --baseline (new)",
    )
    scan_cmd.add_argument(
        "--security-hub",
        action="store_true",
        help="import findings above INFO into Security Hub (each account's own, through its "
        "--role-arn), and archive those it holds ACTIVE that this run no longer finds where it "
        "read completely (reconciled with Security Hub); never changes the exit code",
    )

    merge_cmd = commands.add_parser(
        "merge", help="merge partial reports (scan --format partial) into one report"
    )
    merge_cmd.add_argument(
        "parts", nargs="+", metavar="PART.json", help="partial reports (- for standard input)"
    )
    merge_cmd.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    merge_cmd.add_argument(
        "--max-seconds",
        type=seconds,
        default=DEFAULT_MAX_SECONDS,
        metavar="SECONDS",
        help="wall-clock bound for reading the partial reports (`-` is standard input): "
        f"what is not read by then ends the merge with exit code 2 (default {DEFAULT_MAX_SECONDS})",
    )

    _add_evidence_command(commands)

    from .fix_arguments import add_fix_commands

    add_fix_commands(commands)
    demo = commands.add_parser("demo", help="scan an embedded moto fleet (development install)")
    demo.add_argument("--format", choices=["text", "json"], default="text")
    return parser

"""`hsm-backup-audit`: the command line. Exit codes: 0 compliant, 1 non-compliant,
2 bad arguments, policy or baseline file, 3 incomplete (the audit could not see everything).
With `--fail-on new`, 1 means "new findings above INFO since the baseline" and 0 that there
are none (3 still wins: an incomplete audit never passes)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import boto3

from . import __version__
from .aws.cloudhsm import all_regions
from .aws.scanner import ScanRequest, scan
from .aws.security_hub import AccountSessions, import_run
from .console import end_quietly
from .constants import (
    DEFAULT_MAX_WORKERS,
    DEFAULT_MEMBER_ROLE_NAME,
    EXTERNAL_ID_PATTERN,
    ORGANIZATIONAL_UNIT_PATTERN,
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
    STATUS_EXIT_CODE,
    ExitCode,
    Status,
)
from .engine.audit import Audit, Report
from .engine.changes import compute_changes, new_above_info, usable_baseline
from .engine.merge import MergeError, Partial, merge, read_partial_text
from .engine.model import safe_text
from .engine.partial import PartialInfo, PartialRecorder, partial_document
from .engine.policy import PolicyError, load_policy_file
from .engine.report import to_json, to_text
from .engine.security_hub_outcome import security_hub_lines

DEMO_ENTRY_POINT_GROUP = "hsm_backup_audit.demo"
FORMATS = ["text", "json", "partial"]
FORMAT_HELP = "text (default), json, or partial: the JSON report plus what `merge` needs"
FAIL_ON_STATUS, FAIL_ON_NEW = "status", "new"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


class UsageError(Exception):
    pass


def _role_arn(text: str) -> str:
    if not re.fullmatch(ROLE_ARN_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME): {safe_text(text, 80)!r}"
        )
    return text


def _external_id(text: str) -> str:
    if not re.fullmatch(EXTERNAL_ID_PATTERN, text):
        raise argparse.ArgumentTypeError(
            "must be 2 to 1224 characters of letters, digits and _+=,.@:/-"
        )
    return text


def _workers(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError("must be between 1 and 256")
    return value


def _role_name(text: str) -> str:
    if not re.fullmatch(ROLE_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an IAM role name (1 to 64 letters, digits and _+=,.@-): {safe_text(text, 80)!r}"
        )
    return text


def _organizational_unit(text: str) -> str:
    if not re.fullmatch(ORGANIZATIONAL_UNIT_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"not an organizational unit id (ou-xxxx-xxxxxxxx): {safe_text(text, 80)!r}"
        )
    return text


def _add_organization_arguments(scan_cmd: argparse.ArgumentParser) -> None:
    scan_cmd.add_argument(
        "--organization",
        action="store_true",
        help="audit every ACTIVE account of the AWS Organization (run from the management "
        "account or a delegated administrator); each member through --member-role-name",
    )
    scan_cmd.add_argument(
        "--member-role-name",
        type=_role_name,
        help=f"role to assume in each member account (default {DEFAULT_MEMBER_ROLE_NAME})",
    )
    scan_cmd.add_argument(
        "--organizational-unit",
        action="append",
        type=_organizational_unit,
        default=[],
        help="with --organization: only the accounts under this unit and its child units "
        "(repeatable)",
    )


def _check_organization_arguments(args: argparse.Namespace) -> None:
    if not args.organization and (args.member_role_name or args.organizational_unit):
        raise UsageError("--member-role-name and --organizational-unit need --organization")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hsm-backup-audit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan_cmd = commands.add_parser("scan", help="audit the CloudHSM v2 backups an account can see")
    scan_cmd.add_argument(
        "--region",
        action="append",
        default=[],
        help="region to audit (repeatable); 'all' for every CloudHSM region; "
        "default: the session's region",
    )
    scan_cmd.add_argument("--policy", help="policy JSON file (default: the documented defaults)")
    scan_cmd.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    scan_cmd.add_argument(
        "--endpoint-url", help="AWS-compatible endpoint for every client (moto, LocalStack)"
    )
    scan_cmd.add_argument(
        "--role-arn",
        action="append",
        type=_role_arn,
        default=[],
        help="member-account role to assume and audit as well (repeatable)",
    )
    scan_cmd.add_argument(
        "--external-id", type=_external_id, help="external id for --role-arn and member roles"
    )
    scan_cmd.add_argument(
        "--max-workers",
        type=_workers,
        default=DEFAULT_MAX_WORKERS,
        help=f"listings read side by side (default {DEFAULT_MAX_WORKERS})",
    )
    _add_organization_arguments(scan_cmd)

    scan_cmd.add_argument(
        "--baseline",
        metavar="REPORT.json",
        help="an earlier `--format json` report: print and report what changed since it",
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
        "--role-arn), and archive those resolved since --baseline; never changes the exit code",
    )

    merge_cmd = commands.add_parser(
        "merge", help="merge partial reports (scan --format partial) into one report"
    )
    merge_cmd.add_argument("parts", nargs="+", metavar="PART.json", help="partial reports")
    merge_cmd.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)

    demo = commands.add_parser("demo", help="scan an embedded moto fleet (development install)")
    demo.add_argument("--format", choices=["text", "json"], default="text")
    return parser


def resolve_regions(asked: Sequence[str], session: boto3.session.Session) -> list[str]:
    regions: list[str] = []
    for entry in asked:
        for region in (part.strip() for part in entry.split(",")):
            names = all_regions() if region == "all" else [region]
            regions.extend(name for name in names if name and name not in regions)
    if not regions:
        if not session.region_name:
            raise UsageError("no region: pass --region or set AWS_REGION")
        regions.append(session.region_name)
    return regions


def load_baseline(path: str) -> dict[str, Any]:
    """The baseline report file, or UsageError in one line."""
    shown = safe_text(path, 200)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--baseline {shown}: {safe_text(exc.strerror or exc, 100)}") from None
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"--baseline {shown}: not a JSON document") from None
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise UsageError(f"--baseline {shown}: not a hsm-backup-audit report (schema_version 1)")
    if not usable_baseline(document):
        print(
            f"hsm-backup-audit: note: --baseline {shown} has no finding ids (an older report): "
            "every finding counts as new",
            file=sys.stderr,
        )
    return document


def exit_code(report: Report, fail_on: str) -> int:
    if fail_on == FAIL_ON_NEW and report.status != Status.INCOMPLETE:
        return ExitCode.NON_COMPLIANT if new_above_info(report) else ExitCode.COMPLIANT
    return STATUS_EXIT_CODE[report.status]


def run_scan(args: argparse.Namespace) -> int:
    try:
        if args.fail_on == FAIL_ON_NEW and not args.baseline:
            raise UsageError("--fail-on new needs --baseline (the report to compare with)")
        baseline = load_baseline(args.baseline) if args.baseline else None
        _check_organization_arguments(args)
        policy = load_policy_file(args.policy)
        session = boto3.session.Session()
        regions = resolve_regions(args.region, session)
    except (PolicyError, UsageError) as exc:
        print(f"hsm-backup-audit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    recorder = PartialRecorder()
    report = scan(
        ScanRequest(
            audit_factory=recorder if args.format == "partial" else Audit,
            regions=regions,
            policy=policy,
            policy_source=args.policy or "defaults",
            role_arns=args.role_arn,
            external_id=args.external_id,
            endpoint_url=args.endpoint_url,
            max_workers=args.max_workers,
            session=session,
            organization=args.organization,
            member_role_name=args.member_role_name or DEFAULT_MEMBER_ROLE_NAME,
            organizational_units=args.organizational_unit,
        )
    )
    if args.baseline:
        report.changes = compute_changes(report, baseline)
    info = recorder.partial_info(report) if args.format == "partial" else None
    _print(report, args.format, info)
    if args.security_hub:
        sessions = AccountSessions(
            session,
            args.role_arn,
            args.external_id,
            args.endpoint_url,
            member_role_name=(args.member_role_name or DEFAULT_MEMBER_ROLE_NAME)
            if args.organization
            else None,
        )
        outcome = import_run(report, policy, sessions, args.endpoint_url)
        for line in security_hub_lines(outcome):
            if line:
                print(f"hsm-backup-audit: {line.strip()}", file=sys.stderr)
    return exit_code(report, args.fail_on)


def _print(report: Report, output: str, info: PartialInfo | None) -> None:
    if info is not None:
        sys.stdout.write(json.dumps(partial_document(report, info), ensure_ascii=False) + "\n")
    elif output == "json":
        sys.stdout.write(to_json(report) + "\n")
    else:
        sys.stdout.write(to_text(report))


def _read_part(path: str) -> Partial:
    shown = safe_text(path, 120)
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise MergeError(f"{shown}: cannot read: {exc.strerror or 'unreadable'}") from None
    return read_partial_text(text, shown)


def run_merge(args: argparse.Namespace) -> int:
    try:
        merged = merge([_read_part(path) for path in args.parts])
    except MergeError as exc:
        print(f"hsm-backup-audit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    info = merged.info if args.format == "partial" else None
    _print(merged.report, args.format, info)
    return STATUS_EXIT_CODE[merged.report.status]


def run_demo(args: argparse.Namespace) -> int:
    found = entry_points(group=DEMO_ENTRY_POINT_GROUP)
    if not found:
        print(
            "hsm-backup-audit: error: the demo needs the development install (run `make demo`)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    demo = next(iter(found)).load()
    return int(demo(args.format))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return run_demo(args)
    if args.command == "merge":
        return run_merge(args)
    return run_scan(args)


def console_main() -> NoReturn:
    """The `hsm-backup-audit` command: main(), ending quietly on `| head` and Ctrl-C."""
    end_quietly(main)


if __name__ == "__main__":
    console_main()

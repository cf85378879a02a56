"""`hsm-backup-audit`: the command line runs its commands (scan, merge, evidence, fix, undo,
demo). What each option takes, and the exit codes, are in arguments.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, ProfileNotFound

from .arguments import FAIL_ON_NEW, build_parser
from .aws.cloudhsm import without_url_credentials
from .aws.scanner import Deadline, ScanRequest, scan
from .aws.security_hub import AccountSessions, import_run
from .console import end_quietly
from .constants import (
    DEFAULT_MEMBER_ROLE_NAME,
    MAX_REPORT_BYTES,
    STATUS_EXIT_CODE,
    ExitCode,
    Status,
)
from .engine.audit import Audit, Report
from .engine.baseline import BaselineError, parse_baseline
from .engine.changes import compute_changes, new_above_info, usable_baseline
from .engine.input_file import STDIN, InputFileError, read_input_bytes, shown_path
from .engine.merge import MergeError, Partial, merge, read_partial_text
from .engine.model import safe_text
from .engine.partial import PartialInfo, PartialRecorder, partial_document
from .engine.policy import PolicyError, load_policy_file
from .engine.report import to_json, to_text
from .engine.security_hub_outcome import security_hub_lines
from .evidence import run_evidence
from .regions import ALL_REGIONS, RegionError, check_region, check_regions

ENV_AWS_REGION = "AWS_REGION"

DEMO_ENTRY_POINT_GROUP = "hsm_backup_audit.demo"


class UsageError(Exception):
    pass


def _check_organization_arguments(args: argparse.Namespace) -> None:
    if not args.organization and (args.member_role_name or args.organizational_unit):
        raise UsageError("--member-role-name and --organizational-unit need --organization")


def home_region(session: boto3.session.Session) -> str | None:
    """AWS_REGION first (as the AWS CLI and SDKs read it), then AWS_DEFAULT_REGION or the
    profile's region (as boto3 reads them)."""
    return os.environ.get(ENV_AWS_REGION, "").strip() or session.region_name or None


def resolve_regions(asked: Sequence[str], home: str | None) -> list[str]:
    """The checked regions to audit ("all" kept for the scan to expand per account)."""
    try:
        regions = list(check_regions(asked))
    except RegionError as exc:
        raise UsageError(f"--region: {exc}") from None
    if not regions:
        if not home:
            raise UsageError("no region: pass --region or set AWS_REGION")
        regions.append(home)
    if ALL_REGIONS in regions and not (home or len(regions) > 1):
        raise UsageError(
            "--region all needs a home region to ask which regions are enabled: "
            "set AWS_REGION or pass --region REGION as well"
        )
    return regions


def check_home(home: str) -> str:
    """The region from the environment or profile, checked as --region is."""
    try:
        return check_region(home)
    except RegionError as exc:
        raise UsageError(
            f"the AWS region (AWS_REGION, AWS_DEFAULT_REGION, profile): {exc}"
        ) from None


def load_baseline(path: str, seconds: float | None = None) -> dict[str, Any]:
    """The baseline report file (or `-`, read within `seconds`), checked, or UsageError in
    one line naming the file and the field."""
    try:
        raw = read_input_bytes(
            path,
            limit=MAX_REPORT_BYTES,
            what="the baseline",
            noun="a report",
            seconds=seconds,
            stdin=True,
        )
        document = parse_baseline(raw, datetime.now(UTC))
    except InputFileError as exc:
        raise UsageError(f"--baseline {exc}") from None
    except BaselineError as exc:
        raise UsageError(f"--baseline {shown_path(path)}: {exc}") from None
    if not usable_baseline(document):
        print(
            f"hsm-backup-audit: note: --baseline {shown_path(path)} has no finding ids "
            "(an older report): every finding counts as new",
            file=sys.stderr,
        )
    return document


def exit_code(report: Report, fail_on: str) -> int:
    if fail_on == FAIL_ON_NEW and report.status != Status.INCOMPLETE:
        return ExitCode.NON_COMPLIANT if new_above_info(report) else ExitCode.COMPLIANT
    return STATUS_EXIT_CODE[report.status]


def run_scan(args: argparse.Namespace) -> int:
    deadline = Deadline(args.max_seconds)  # counts from here: account set-up included
    try:
        if args.fail_on == FAIL_ON_NEW and not args.baseline:
            raise UsageError("--fail-on new needs --baseline (the report to compare with)")
        baseline = load_baseline(args.baseline, deadline.remaining()) if args.baseline else None
        _check_organization_arguments(args)
        policy = load_policy_file(args.policy)
        session = boto3.session.Session(profile_name=args.profile)
        home = home_region(session)
        home = check_home(home) if home else None
        regions = resolve_regions(args.region, home)
    except (PolicyError, UsageError) as exc:
        print(f"hsm-backup-audit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except ProfileNotFound as exc:
        profile = safe_text(exc.kwargs.get("profile"), 64)
        print(
            f"hsm-backup-audit: error: the AWS profile {profile!r} was not found "
            "(check --profile, AWS_PROFILE and the AWS config files)",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    except BotoCoreError as exc:  # a config file botocore cannot read, and the like
        message = safe_text(without_url_credentials(str(exc)), 300)
        print(f"hsm-backup-audit: error: AWS configuration: {message}", file=sys.stderr)
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
            should_stop=deadline.should_stop,
            session=session,
            home_region=home or next(r for r in regions if r != ALL_REGIONS),
            organization=args.organization,
            member_role_name=args.member_role_name or DEFAULT_MEMBER_ROLE_NAME,
            organizational_units=args.organizational_unit,
        )
    )
    if args.baseline:
        report.changes = compute_changes(report, baseline, policy)
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
        # Under the run's deadline too: nothing starts after it, nothing is waited for.
        outcome = import_run(report, policy, sessions, args.endpoint_url, deadline.should_stop)
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


def _read_part(path: str, deadline: Deadline) -> Partial:
    if deadline.should_stop():
        raise MergeError(f"{shown_path(path)}: not read: --max-seconds ran out")
    try:
        raw = read_input_bytes(
            path,
            limit=MAX_REPORT_BYTES,
            what="the partial report",
            noun="a partial report",
            seconds=deadline.remaining(),
            stdin=True,
        )
    except InputFileError as exc:
        raise MergeError(str(exc)) from None
    return read_partial_text(raw, shown_path(path), now=datetime.now(UTC))


def run_merge(args: argparse.Namespace) -> int:
    deadline = Deadline(args.max_seconds)
    try:
        if args.parts.count(STDIN) > 1:
            raise MergeError("-: standard input can be read only once")
        merged = merge([_read_part(path, deadline) for path in args.parts])
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scan" and args.external_id and not (args.role_arn or args.organization):
        parser.error("argument --external-id: only used with --role-arn or --organization")
    if args.command == "demo":
        return run_demo(args)
    if args.command == "merge":
        return run_merge(args)
    if args.command == "evidence":
        return run_evidence(args)
    if args.command in ("fix", "undo"):
        from . import fix_command

        return fix_command.run_fix(args) if args.command == "fix" else fix_command.run_undo(args)
    return run_scan(args)


def console_main() -> NoReturn:
    """The `hsm-backup-audit` command: main(), ending quietly on `| head` and Ctrl-C."""
    end_quietly(main)


if __name__ == "__main__":
    console_main()

"""`hsm-backup-audit evidence`: read the reports (aws/evidence_source.py), work out the
period (engine/period.py), write the page and the CSV (render/). Exit 0 when written, 2
with one line when an argument or a source is wrong."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from .aws.evidence_source import SourceError, parse_bucket, read_bucket, read_files
from .constants import ExitCode
from .engine.model import safe_text
from .engine.period import PeriodError, SourcedReport, build_period
from .render.csv_export import lifecycle_csv
from .render.html import evidence_html


def _read(args: argparse.Namespace) -> list[SourcedReport]:
    reports: list[SourcedReport] = []
    files = []
    for text in args.sources:
        bucket = parse_bucket(text)
        if bucket is None:
            files.append(text)
            continue
        session = boto3.session.Session(profile_name=args.profile)
        s3 = session.client("s3", endpoint_url=args.endpoint_url)
        reports += read_bucket(s3, bucket, args.date_from, args.date_to)
    return reports + read_files(files)


def run_evidence(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        period = build_period(_read(args), args.date_from, args.date_to, today=now.date())
        page = evidence_html(
            period,
            sources=args.sources,
            asked_from=args.date_from,
            asked_to=args.date_to,
            generated_at=now,
        )
        Path(args.out).write_text(page, encoding="utf-8")
        if args.csv:
            Path(args.csv).write_text(lifecycle_csv(period), encoding="utf-8", newline="")
    except (SourceError, PeriodError) as exc:
        print(f"hsm-backup-audit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (OSError, BotoCoreError) as exc:
        reason = safe_text(getattr(exc, "strerror", None) or exc, 200)
        print(f"hsm-backup-audit: error: evidence: {reason}", file=sys.stderr)
        return ExitCode.USAGE
    print(
        f"hsm-backup-audit: evidence {period.start} to {period.end}: {len(period.runs)} "
        f"reports, {period.days_audited} of {len(period.days)} days audited -> {args.out}",
        file=sys.stderr,
    )
    return ExitCode.COMPLIANT

"""Where an evidence page's reports come from: the report bucket (s3://bucket[/prefix]) read
through its run history, or JSON report files and folders. Each report comes with what
identifies it (S3 key and version id, or path) and the SHA-256 of the bytes read.

In the bucket, reports are listed under the prefix (default reports/) and their dated keys
(reports/<account>/YYYY/MM/DD/<run id>.json) chosen by day; latest.json copies are skipped.
The run history's versions (history.recorded_runs) say which scope and policy each run had.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import REPORT_KEY_PREFIX, REPORT_LATEST_NAME
from ..engine.model import safe_text
from ..engine.period import SourcedReport, report_problem, slim_report
from .delivery import describe_failure
from .history import recorded_runs

DATED_KEY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/[^/]+\.json$")
ScopeFilter = Callable[[Mapping[str, Any]], bool]


class SourceError(ValueError):
    """A source that cannot be read; the message is one line naming it."""


@dataclass(frozen=True)
class BucketSource:
    bucket: str
    prefix: str


def parse_bucket(text: str) -> BucketSource | None:
    """s3://bucket[/prefix] -> BucketSource; anything else (a path) -> None."""
    if not text.startswith("s3://"):
        return None
    bucket, _, prefix = text[5:].partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise SourceError(f"{safe_text(text, 120)}: not an S3 bucket name")
    return BucketSource(bucket, prefix or f"{REPORT_KEY_PREFIX}/")


def _sourced(body: bytes, location: str, strings: dict[str, str], **fields: Any) -> SourcedReport:
    """The report read from `body`, slimmed to what the period needs (its SHA-256 is that of
    every byte read)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SourceError(f"{safe_text(location, 200)}: not a JSON document") from None
    problem = report_problem(document)
    if problem:
        raise SourceError(f"{safe_text(location, 200)}: {problem}")
    slim = slim_report(document, strings)
    return SourcedReport(slim, location, hashlib.sha256(body).hexdigest(), **fields)


def _in_days(key: str, start: date | None, end: date | None) -> bool:
    found = DATED_KEY.search(key)
    if found is None:
        return False
    try:
        day = date(*(int(part) for part in found.groups()))
    except ValueError:
        return False
    return (start is None or day >= start) and (end is None or day <= end)


def read_bucket(
    s3: BaseClient,
    source: BucketSource,
    start: date | None,
    end: date | None,
    keep: ScopeFilter | None = None,
) -> list[SourcedReport]:
    """The dated reports under the prefix from `start` to `end`, each with the policy its
    run had (when the history recorded it); with `keep`, only runs whose scope it accepts."""
    where = f"s3://{source.bucket}/{source.prefix}"
    # A run's history entry is written after its report: none from before `start` is needed.
    since = datetime.combine(start, time(), UTC) if start else None
    try:
        runs = recorded_runs(s3, source.bucket, since)
        keys = []
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=source.bucket, Prefix=source.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith(f"/{REPORT_LATEST_NAME}") or not _in_days(key, start, end):
                    continue
                scope = runs.get(key, {}).get("scope")
                if keep is None or (isinstance(scope, Mapping) and keep(scope)):
                    keys.append(key)
        out: list[SourcedReport] = []
        strings: dict[str, str] = {}
        for key in keys:
            answer = s3.get_object(Bucket=source.bucket, Key=key)
            scope = runs.get(key, {}).get("scope")
            policy = scope.get("policy") if isinstance(scope, Mapping) else None
            out.append(
                _sourced(
                    answer["Body"].read(),
                    f"s3://{source.bucket}/{key}",
                    strings,
                    version_id=answer.get("VersionId"),
                    policy=policy if isinstance(policy, Mapping) else None,
                )
            )
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(describe_failure(f"read {where}", exc)) from None
    return out


def read_files(paths: Sequence[str]) -> list[SourcedReport]:
    """Each file, and each folder's *.json files (not latest.json); a file read twice (the
    same bytes) counts once."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if p.name != REPORT_LATEST_NAME)
        else:
            files.append(path)
    out: dict[str, SourcedReport] = {}
    strings: dict[str, str] = {}
    for path in files:
        try:
            body = path.read_bytes()
        except OSError as exc:
            reason = safe_text(exc.strerror or type(exc).__name__, 100)
            raise SourceError(f"{safe_text(path, 200)}: cannot read: {reason}") from None
        report = _sourced(body, str(path), strings)
        out.setdefault(report.sha256, report)
    return list(out.values())

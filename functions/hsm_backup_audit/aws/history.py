"""The run history in the report bucket: per scope, which report is the baseline.

    history/<scope key>/baseline.json   the latest COMPLETE report of the scope:
                                        {"schema_version", "scope", "run_id", "generated_at",
                                         "status", "report_key"} (a pointer; the report itself
                                        stays under reports/)
    history/<scope key>/last-run.json   the latest run of any status: its run id, time, status

The scope key is `scope-` and the first 32 hex digits of SHA-256 over the canonical JSON
(sorted keys, no spaces) of {"accounts": [...sorted], "regions": [...sorted],
"policy": <the policy as JSON>}, so a run compares only with a run that audited the
same accounts and regions under the same policy. An INCOMPLETE run never moves the
baseline pointer: what it could not see stays judged against the last complete view.

Both pointers only move forward in time, atomically: each write is conditional on the
object read just before (`IfMatch` its ETag, or `IfNoneMatch="*"` when there is none),
and a pointer that already names a later run is left alone, so two runs at once can
never move the baseline back to the older one. A lost race is read again and retried.
A pointer that cannot be read (not JSON, no time, a time in the future) is replaced.

The baseline report is read as `--baseline` is (engine/baseline.py): bounded, strictly
typed. Nothing here raises for AWS: a problem is returned as one line, and the run goes
on without a baseline (every finding is then new, the digest says "baseline could not
be read", and this run's report becomes the baseline, so the history heals itself).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import (
    CLOCK_SKEW_SECONDS,
    HISTORY_KEY_PREFIX,
    MAX_REPORT_BYTES,
    SCHEMA_VERSION,
    Status,
)
from ..engine.audit import Report
from ..engine.baseline import BaselineError, parse_baseline
from ..engine.input_file import JsonError, parse_json
from ..engine.model import as_utc
from ..engine.policy import Policy
from ..engine.report import iso
from .delivery import describe_failure

BASELINE_NAME = "baseline.json"
LAST_RUN_NAME = "last-run.json"
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# A conditional write that lost a race: 412, or 409 when another write was under way.
LOST_RACE_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
MAX_POINTER_BYTES = 64 * 1024
MAX_WRITE_ATTEMPTS = 5


def scope_document(
    accounts: Iterable[str], regions: Iterable[str], policy: Policy
) -> dict[str, Any]:
    return {
        "accounts": sorted(set(accounts)),
        "regions": sorted(set(regions)),
        "policy": policy.model_dump(mode="json"),
    }


def scope_key(scope: Mapping[str, Any]) -> str:
    canonical = json.dumps(scope, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"scope-{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class History:
    """What the history said at the start of a run."""

    baseline: dict[str, Any] | None = None  # the baseline report's JSON document
    last_status: str | None = None  # the status of the previous run, complete or not
    problem: str | None = None  # why the history could not be read, if it could not


class _TooLarge(ValueError):
    pass


def _get(s3: BaseClient, bucket: str, key: str, limit: int) -> tuple[bytes, str] | None:
    """(body, ETag) of the object, or None when it does not exist; raises on anything
    else. At most limit + 1 bytes of the body are read (see _within).

    Whether it exists is asked by listing its key first: the stack grants s3:ListBucket
    under the bucket's prefixes only (an s3:prefix condition), and without a ListBucket
    that applies, S3 answers a GetObject of a missing key with 403, not 404."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    if not any(item.get("Key") == key for item in listed.get("Contents", [])):
        return None
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
            return None
        raise
    with answer["Body"] as stream:
        body = stream.read(limit + 1)
    return body, str(answer.get("ETag", ""))


def _within(body: bytes, limit: int) -> bytes:
    if len(body) > limit:
        raise _TooLarge(f"larger than {limit:,} bytes")
    return body


def _get_json(s3: BaseClient, bucket: str, key: str) -> Any:
    """A pointer's JSON, or None when it does not exist (JsonError when it is no JSON)."""
    found = _get(s3, bucket, key, MAX_POINTER_BYTES)
    return None if found is None else parse_json(_within(found[0], MAX_POINTER_BYTES))


def read_history(s3: BaseClient, bucket: str, key: str, now: datetime | None = None) -> History:
    """The baseline report and the last run's status of one scope (key from `scope_key`)."""
    where = f"s3://{bucket}/{HISTORY_KEY_PREFIX}/{key}"
    last_status = None
    try:
        last = _get_json(s3, bucket, f"{HISTORY_KEY_PREFIX}/{key}/{LAST_RUN_NAME}")
        last_status = last.get("status") if isinstance(last, dict) else None
        pointer = _get_json(s3, bucket, f"{HISTORY_KEY_PREFIX}/{key}/{BASELINE_NAME}")
        if pointer is None:
            return History(last_status=last_status)
        report_key = pointer.get("report_key") if isinstance(pointer, dict) else None
        if not isinstance(report_key, str):
            return History(last_status=last_status, problem=f"{where}: unreadable pointer")
        found = _get(s3, bucket, report_key, MAX_REPORT_BYTES)
        if found is None:
            return History(
                last_status=last_status, problem=f"s3://{bucket}/{report_key}: not found"
            )
        raw = _within(found[0], MAX_REPORT_BYTES)
        document = parse_baseline(raw, now or datetime.now(UTC))
        return History(baseline=document, last_status=last_status)
    except (ClientError, BotoCoreError) as exc:
        return History(last_status=last_status, problem=describe_failure(f"read {where}", exc))
    except (JsonError, _TooLarge) as exc:
        return History(last_status=last_status, problem=f"read {where}: {exc}")
    except BaselineError as exc:
        return History(
            last_status=last_status,
            problem=f"s3://{bucket}/{report_key}: baseline could not be read: {exc}",
        )


def record_run(
    s3: BaseClient,
    bucket: str,
    key: str,
    scope: Mapping[str, Any],
    report: Report,
    report_key: str | None,
) -> str | None:
    """After delivery: the last run's status, and the baseline pointer when the run was
    complete and its report is stored, each moved only forward. Returns a problem line,
    or None."""
    entry = {
        "schema_version": SCHEMA_VERSION,
        "scope": dict(scope),
        "run_id": report.run_id,
        "generated_at": iso(report.generated_at),
        "status": str(report.status),
        "report_key": report_key,
    }
    writes = [LAST_RUN_NAME]
    if report.status != Status.INCOMPLETE and report_key is not None:
        writes.append(BASELINE_NAME)
    for name in writes:
        target = f"{HISTORY_KEY_PREFIX}/{key}/{name}"
        try:
            problem = _move_forward(s3, bucket, target, entry, report)
        except (ClientError, BotoCoreError) as exc:
            return describe_failure(f"s3://{bucket}/{target}", exc)
        if problem:
            return problem
    return None


def _order(pointer: Any, now: datetime) -> tuple[datetime, str] | None:
    """Where a stored pointer stands in time: (generated_at, run_id), or None when it
    cannot be read or lies in the future (such a pointer is replaced)."""
    if not isinstance(pointer, dict):
        return None
    moment = as_utc(pointer.get("generated_at"))
    if moment is None or moment > now + timedelta(seconds=CLOCK_SKEW_SECONDS):
        return None
    run_id = pointer.get("run_id")
    return moment, run_id if isinstance(run_id, str) else ""


def _move_forward(
    s3: BaseClient, bucket: str, target: str, entry: dict[str, Any], report: Report
) -> str | None:
    """Write `entry` at `target` unless it already names a later run; a compare-and-swap
    on the ETag read, retried when another run wrote in between."""
    ours = (report.generated_at, report.run_id or "")
    body = json.dumps(entry, indent=2).encode()
    for _ in range(MAX_WRITE_ATTEMPTS):
        found = _get(s3, bucket, target, MAX_POINTER_BYTES)
        condition: dict[str, str] = {"IfNoneMatch": "*"}
        if found is not None:
            try:
                stored = parse_json(_within(found[0], MAX_POINTER_BYTES))
            except (JsonError, _TooLarge):
                stored = None  # unreadable: replaced
            order = _order(stored, datetime.now(UTC))
            same_run = isinstance(stored, dict) and stored.get("run_id") == report.run_id
            if order is not None and order >= ours and not same_run:
                return None  # a later run got there first: never move back
            condition = {"IfMatch": found[1]}
        try:
            s3.put_object(
                Bucket=bucket,
                Key=target,
                Body=body,
                ContentType="application/json",
                **condition,
            )
            return None
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in LOST_RACE_CODES:
                raise
    return f"s3://{bucket}/{target}: not moved: another run wrote it {MAX_WRITE_ATTEMPTS} times"


def recorded_runs(s3: BaseClient, bucket: str, since: datetime | None = None) -> dict[str, Any]:
    """Every run the history recorded (in versions written since `since`: an entry is
    written after its run), from the versions of each scope's last-run.json (the report
    bucket is versioned): {report key: the entry, with its scope and policy}. Runs whose
    report was not stored are left out. Raises ClientError and BotoCoreError."""
    runs: dict[str, dict[str, Any]] = {}
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=f"{HISTORY_KEY_PREFIX}/"
    )
    for page in pages:
        for version in page.get("Versions", []):
            key = version.get("Key", "")
            written = as_utc(version.get("LastModified"))
            if not key.endswith(f"/{LAST_RUN_NAME}") or written is None:
                continue
            if since is not None and written < since:
                continue
            body = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
            try:
                entry = json.loads(body["Body"].read())
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("report_key"), str):
                runs[entry["report_key"]] = entry
    return runs

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
Nothing here raises for AWS: a problem is returned as one line, and the run goes on
without a baseline (every finding is then new, and the digest says why).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import HISTORY_KEY_PREFIX, SCHEMA_VERSION, Status
from ..engine.audit import Report
from ..engine.policy import Policy
from ..engine.report import iso
from .delivery import describe_failure

BASELINE_NAME = "baseline.json"
LAST_RUN_NAME = "last-run.json"
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


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


def _get_json(s3: BaseClient, bucket: str, key: str) -> Any:
    """The object's JSON, or None when it does not exist. Raises on anything else.

    Whether it exists is asked by listing its key first: the stack grants s3:ListBucket
    under the bucket's prefixes only (an s3:prefix condition), and without a ListBucket
    that applies, S3 answers a GetObject of a missing key with 403, not 404."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    if not any(item.get("Key") == key for item in listed.get("Contents", [])):
        return None
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
            return None
        raise
    return json.loads(body)


def read_history(s3: BaseClient, bucket: str, key: str) -> History:
    """The baseline report and the last run's status of one scope (key from `scope_key`)."""
    where = f"s3://{bucket}/{HISTORY_KEY_PREFIX}/{key}"
    try:
        last = _get_json(s3, bucket, f"{HISTORY_KEY_PREFIX}/{key}/{LAST_RUN_NAME}")
        pointer = _get_json(s3, bucket, f"{HISTORY_KEY_PREFIX}/{key}/{BASELINE_NAME}")
        last_status = last.get("status") if isinstance(last, dict) else None
        if pointer is None:
            return History(last_status=last_status)
        report_key = pointer.get("report_key") if isinstance(pointer, dict) else None
        if not isinstance(report_key, str):
            return History(last_status=last_status, problem=f"{where}: unreadable pointer")
        document = _get_json(s3, bucket, report_key)
        if not isinstance(document, dict):
            return History(
                last_status=last_status, problem=f"s3://{bucket}/{report_key}: not found"
            )
        return History(baseline=document, last_status=last_status)
    except (ClientError, BotoCoreError) as exc:
        return History(problem=describe_failure(f"read {where}", exc))
    except (ValueError, AttributeError) as exc:  # not JSON, or not the shape written here
        return History(problem=f"read {where}: not a history document ({type(exc).__name__})")


def record_run(
    s3: BaseClient,
    bucket: str,
    key: str,
    scope: Mapping[str, Any],
    report: Report,
    report_key: str | None,
) -> str | None:
    """After delivery: the last run's status, and the baseline pointer when the run was
    complete and its report is stored. Returns a problem line, or None."""
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
    body = json.dumps(entry, indent=2).encode()
    for name in writes:
        target = f"{HISTORY_KEY_PREFIX}/{key}/{name}"
        try:
            s3.put_object(Bucket=bucket, Key=target, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            return describe_failure(f"s3://{bucket}/{target}", exc)
    return None

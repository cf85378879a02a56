"""The run history in the report bucket, against moto S3: the scope key, the baseline
pointer (moved only by complete runs whose report is stored), and problems as one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from hsm_backup_audit.aws.history import (
    History,
    read_history,
    record_run,
    scope_document,
    scope_key,
)
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.policy import Policy

BUCKET = "reports"
AT = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def report(status: Status, run_id: str, at: datetime = AT) -> Report:
    errors = (
        [ScanError("1", "us-east-1", "DescribeBackups", "X", "x")] if status == "INCOMPLETE" else []
    )
    return Report(
        status=status,
        generated_at=at,
        scope=Scope(("us-east-1",), "1", ("1",), False),
        backups_scanned=0,
        findings=[],
        errors=errors,
        run_id=run_id,
    )


def store(s3: Any, key: str, document: dict[str, object]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())


SCOPE = scope_document(["self", "222222222222"], ["us-east-1", "eu-west-1"], Policy())


def test_the_scope_key_is_stable_and_changes_with_accounts_regions_or_policy() -> None:
    same = scope_document(["222222222222", "self"], ["eu-west-1", "us-east-1"], Policy())
    assert scope_key(same) == scope_key(SCOPE)
    assert scope_key(SCOPE).startswith("scope-") and len(scope_key(SCOPE)) == 38
    others = [
        scope_document(["self"], ["us-east-1", "eu-west-1"], Policy()),
        scope_document(["self", "222222222222"], ["us-east-1"], Policy()),
        scope_document(
            ["self", "222222222222"],
            ["us-east-1", "eu-west-1"],
            Policy.model_validate({"overdue_grace_days": 5}),
        ),
    ]
    assert len({scope_key(SCOPE), *(scope_key(o) for o in others)}) == 4


def test_no_history_yet_is_no_baseline_and_no_problem(s3: Any) -> None:
    assert read_history(s3, BUCKET, scope_key(SCOPE)) == History()


def test_only_complete_runs_with_a_stored_report_move_the_baseline(s3: Any) -> None:
    key = scope_key(SCOPE)
    first = "reports/1/2026/11/27/run-1.json"
    store(s3, first, {"schema_version": 1, "run_id": "run-1", "findings": []})
    # A complete run moves it
    assert record_run(s3, BUCKET, key, SCOPE, report(Status.NON_COMPLIANT, "run-1"), first) is None
    history = read_history(s3, BUCKET, key)
    assert history.baseline == {"schema_version": 1, "run_id": "run-1", "findings": []}
    assert history.last_status == "NON_COMPLIANT"
    # An INCOMPLETE run does not (but it is the last run), nor one whose report was not stored
    later = AT + timedelta(days=1)
    record_run(s3, BUCKET, key, SCOPE, report(Status.INCOMPLETE, "run-2", later), "x.json")
    record_run(s3, BUCKET, key, SCOPE, report(Status.COMPLIANT, "run-3", later), None)
    history = read_history(s3, BUCKET, key)
    assert history.baseline is not None and history.baseline["run_id"] == "run-1"
    assert history.last_status == "COMPLIANT"
    pointer = json.loads(
        s3.get_object(Bucket=BUCKET, Key=f"history/{key}/baseline.json")["Body"].read()
    )
    assert pointer["scope"] == SCOPE
    assert (pointer["run_id"], pointer["report_key"], pointer["status"]) == (
        "run-1",
        first,
        "NON_COMPLIANT",
    )


def test_a_broken_history_is_one_line_and_no_baseline(s3: Any) -> None:
    key = scope_key(SCOPE)
    store(s3, f"history/{key}/baseline.json", {"report_key": "reports/gone.json"})
    history = read_history(s3, BUCKET, key)
    assert history.baseline is None
    assert history.problem == f"s3://{BUCKET}/reports/gone.json: not found"
    s3.put_object(Bucket=BUCKET, Key=f"history/{key}/baseline.json", Body=b"{garbage")
    history = read_history(s3, BUCKET, key)
    assert history.problem == (
        f"read s3://{BUCKET}/history/{key}: not a history document (JSONDecodeError)"
    )


def test_an_unreadable_bucket_is_one_line_and_no_baseline(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    history = read_history(s3, "no-such-bucket", "scope-x")
    assert history.baseline is None
    assert history.problem is not None
    assert history.problem.startswith("read s3://no-such-bucket/history/scope-x: NoSuchBucket")
    problem = record_run(s3, "no-such-bucket", "scope-x", SCOPE, report(Status.COMPLIANT, "r"), "k")
    assert problem is not None and "NoSuchBucket" in problem

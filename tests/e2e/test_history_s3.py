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
from hsm_backup_audit.constants import Rule, Severity, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.model import Finding, ScanError
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_json

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
    stored = {
        "schema_version": 1,
        "run_id": "run-1",
        "generated_at": "2026-11-27T07:00:00Z",
        "findings": [],
    }
    store(s3, first, stored)
    # A complete run moves it
    assert record_run(s3, BUCKET, key, SCOPE, report(Status.NON_COMPLIANT, "run-1"), first) is None
    history = read_history(s3, BUCKET, key)
    assert history.baseline == stored
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
    assert history.problem == (f"read s3://{BUCKET}/history/{key}: not JSON (line 1 column 2)")


def test_an_unreadable_bucket_is_one_line_and_no_baseline(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    history = read_history(s3, "no-such-bucket", "scope-x")
    assert history.baseline is None
    assert history.problem is not None
    assert history.problem.startswith("read s3://no-such-bucket/history/scope-x: NoSuchBucket")
    problem = record_run(s3, "no-such-bucket", "scope-x", SCOPE, report(Status.COMPLIANT, "r"), "k")
    assert problem is not None and "NoSuchBucket" in problem


def _finding(backup: str) -> Finding:
    return Finding(
        rule=Rule.MODE,
        severity=Severity.HIGH,
        account_id="1",
        region="us-east-1",
        cluster_id="cluster-a",
        backup_id=backup,
        shared=False,
        message=f"{backup} is NON_FIPS",
        remediation="-",
    )


def _stored_run(s3: Any, run_id: str, at: datetime, backups: list[str]) -> tuple[Report, str]:
    """A complete run of `backups` findings, compared with the scope's baseline and its
    report stored as a Lambda run stores it; (report, its key)."""
    run = report(Status.NON_COMPLIANT, run_id, at)
    run.findings = [_finding(b) for b in backups]
    run.changes = compute_changes(run, read_history(s3, BUCKET, scope_key(SCOPE), at).baseline)
    report_key = f"reports/1/{run_id}.json"
    s3.put_object(Bucket=BUCKET, Key=report_key, Body=to_json(run).encode())
    return run, report_key


def _pointer(s3: Any, name: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=BUCKET, Key=f"history/{scope_key(SCOPE)}/{name}")["Body"]
    document: dict[str, Any] = json.loads(body.read())
    return document


def test_two_runs_at_once_leave_the_newer_as_the_baseline(s3: Any) -> None:
    # Given a first run with the findings of backups f and g (the baseline)
    key = scope_key(SCOPE)
    first, first_key = _stored_run(s3, "run-0", AT, ["backup-f", "backup-g"])
    assert record_run(s3, BUCKET, key, SCOPE, first, first_key) is None
    # and two runs that start from it at once: A (older, slow) and B (newer, fast), where
    # B sees g fixed and h new
    a, a_key = _stored_run(s3, "run-a", AT + timedelta(hours=1), ["backup-f", "backup-g"])
    b, b_key = _stored_run(s3, "run-b", AT + timedelta(hours=2), ["backup-f", "backup-h"])
    # When B records first, then A
    assert record_run(s3, BUCKET, key, SCOPE, b, b_key) is None
    assert record_run(s3, BUCKET, key, SCOPE, a, a_key) is None
    # Then both pointers still name B: they never move back in time
    assert _pointer(s3, "baseline.json")["run_id"] == "run-b"
    assert _pointer(s3, "last-run.json")["run_id"] == "run-b"
    # and the next run compares with B: h is not new again, and keeps B's first_seen
    c, _ = _stored_run(s3, "run-c", AT + timedelta(hours=3), ["backup-f", "backup-h"])
    assert c.changes is not None
    assert c.changes.new == ()
    assert c.changes.baseline_run_id == "run-b"
    h = _finding("backup-h").id
    assert c.changes.first_seen[h] == AT + timedelta(hours=2)
    assert c.changes.first_seen[_finding("backup-f").id] == AT


def test_a_run_that_loses_the_race_to_a_newer_one_does_not_overwrite_it(s3: Any) -> None:
    # Given the older run A about to write the pointer it read (run-0's), and the newer
    # run B writing its own in between A's read and A's write
    key = scope_key(SCOPE)
    first, first_key = _stored_run(s3, "run-0", AT, ["backup-f"])
    record_run(s3, BUCKET, key, SCOPE, first, first_key)
    a, a_key = _stored_run(s3, "run-a", AT + timedelta(hours=1), ["backup-f"])
    b, b_key = _stored_run(s3, "run-b", AT + timedelta(hours=2), ["backup-f", "backup-h"])
    other = boto3.client("s3", region_name="us-east-1")  # B's own client
    raced: list[str] = []

    def newer_run_writes_first(params: dict[str, Any], **_: Any) -> None:
        if not raced:
            raced.append(params["Key"])
            assert record_run(other, BUCKET, key, SCOPE, b, b_key) is None

    s3.meta.events.register("provide-client-params.s3.PutObject", newer_run_writes_first)
    # When A writes (its write is conditional on the ETag it read: it loses, reads again)
    assert record_run(s3, BUCKET, key, SCOPE, a, a_key) is None
    # Then B stays the last run and the baseline
    assert raced == [f"history/{key}/last-run.json"]
    assert _pointer(s3, "last-run.json")["run_id"] == "run-b"
    assert _pointer(s3, "baseline.json")["run_id"] == "run-b"


def test_an_unreadable_or_future_pointer_is_replaced(s3: Any) -> None:
    key = scope_key(SCOPE)
    run, run_key = _stored_run(s3, "run-1", AT, ["backup-f"])
    future = {"run_id": "x", "generated_at": "2999-01-01T00:00:00Z", "report_key": "k"}
    store(s3, f"history/{key}/baseline.json", future)
    s3.put_object(Bucket=BUCKET, Key=f"history/{key}/last-run.json", Body=b"{garbage")
    assert record_run(s3, BUCKET, key, SCOPE, run, run_key) is None
    assert _pointer(s3, "baseline.json")["run_id"] == "run-1"
    assert _pointer(s3, "last-run.json")["run_id"] == "run-1"


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        ({"findings": [{"id": 5}]}, "findings.0.id: Input should be a valid string (got 5)"),
        ({"schema_version": True}, "schema_version: Input should be a valid integer (got true)"),
        ({"generated_at": "2999-01-01T00:00:00Z"}, "generated_at: 2999-01-01T00:00:00Z is later"),
    ],
)
def test_a_stored_baseline_that_cannot_be_used_is_one_line(
    s3: Any, breakage: dict[str, Any], says: str
) -> None:
    # Given a pointer to a stored report with a wrong type, or from the future
    key = scope_key(SCOPE)
    run, run_key = _stored_run(s3, "run-1", AT, ["backup-f"])
    record_run(s3, BUCKET, key, SCOPE, run, run_key)
    store(s3, run_key, {**json.loads(to_json(run)), **breakage})
    # Then there is no baseline, and the problem is one line naming the object and field
    history = read_history(s3, BUCKET, key, AT + timedelta(hours=1))
    assert history.baseline is None
    assert history.last_status == "NON_COMPLIANT"
    assert history.problem is not None
    assert history.problem.startswith(
        f"s3://{BUCKET}/{run_key}: baseline could not be read: {says}"
    )

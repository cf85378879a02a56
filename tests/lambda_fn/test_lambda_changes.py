"""The handler over a changing fleet, run after run, with NOTIFY=changes: the run history in
the report bucket, what each run says changed, its digest, attributes and metrics.

A moto server behind the fault layer (reached through AWS_ENDPOINT_URL as in Lambda), so
a region can fail in between."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from lambda_output import emf_values

from hsm_backup_audit.aws.delivery import DeliveryError
from hsm_backup_audit.constants import WEEKDAYS
from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    Inbox,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import Fault, FleetServer

ACCOUNT = "123456789012"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "functions/hsm_backup_audit/report.schema.json").read_text()
)


@dataclass
class Run:
    summary: dict[str, Any]
    messages: list[dict[str, Any]]
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    document: dict[str, Any]

    @property
    def attributes(self) -> dict[str, str]:
        (message,) = self.messages
        return {k: v["Value"] for k, v in message["MessageAttributes"].items()}


@pytest.fixture
def setting(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[FleetServer, Inbox, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    for key in ("POLICY_FILE", "MEMBER_ROLE_ARNS", "EXTERNAL_ID", "MAX_WORKERS"):
        monkeypatch.delenv(key, raising=False)
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    tomorrow = WEEKDAYS[(datetime.now(UTC).weekday() + 1) % 7]  # no weekly digest today
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", bucket)
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    monkeypatch.setenv("NOTIFY", "changes")
    monkeypatch.setenv("WEEKLY_DIGEST_DAY", tomorrow)
    return fleet_server, inbox, bucket


def run_once(inbox: Inbox, bucket: str, capsys: Any) -> Run:
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    bucket_key = summary["report"].removeprefix(f"s3://{bucket}/")
    body = boto3.client("s3").get_object(Bucket=bucket, Key=bucket_key)["Body"].read()
    document = json.loads(body)
    jsonschema.validate(document, SCHEMA)  # every stored report, changes included
    return Run(summary, inbox.messages(), emf_values(out), document)


def baseline_pointer(bucket: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    (key,) = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="history/")["Contents"]
        if o["Key"].endswith("/baseline.json")
    ]
    pointer: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return pointer


def never_expires(region: str, cluster: str, backup: str) -> str:
    return finding_id("never-expires", ACCOUNT, region, cluster, backup)


def mode(cluster: str, backup: str) -> str:
    return finding_id("mode", ACCOUNT, SECONDARY, cluster, backup)


def test_three_runs_over_a_changing_fleet_then_silence_then_all_clear(
    setting: tuple[FleetServer, Inbox, str], capsys: Any
) -> None:
    server, inbox, bucket = setting
    now = datetime.now(UTC)
    fleet = Fleet()
    # Given a pinned backup in us-east-1 and a NON_FIPS cluster of two backups in eu-west-1
    pki = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, pki, days=60, now=now)
    pinned = fleet.add_backup(PRIMARY, pki, created=now - timedelta(days=70), never_expires=True)
    legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
    old, older = fleet.add_daily_backups(SECONDARY, legacy, days=2, now=now, mode="NON_FIPS")

    # Run 1: the first run of this scope has no baseline, so it always publishes
    first = run_once(inbox, bucket, capsys)
    assert first.summary["status"] == "NON_COMPLIANT"
    assert first.summary["publish_reason"] == "no baseline"
    assert first.document["changes"]["baseline"] is None
    assert sorted(first.document["changes"]["new"]) == sorted(
        [never_expires(PRIMARY, pki, pinned), mode(legacy, old), mode(legacy, older)]
    )
    assert first.attributes["new_findings"] == "3"
    assert first.attributes["resolved_findings"] == "0"
    (message,) = first.messages
    assert message["Subject"] == (
        "[NON_COMPLIANT] CloudHSM backups 123456789012: 3 findings in 2 clusters"
    )
    assert (
        "First run for this scope: no earlier complete report to compare with."
        in (message["Message"])
    )
    assert first.metrics[("NewFindings", ())] == 3
    assert first.metrics[("ResolvedFindings", ())] == 0
    first_key = first.summary["report"].removeprefix(f"s3://{bucket}/")
    assert baseline_pointer(bucket)["report_key"] == first_key

    # Run 2: the pinned backup is fixed, another is pinned, and eu-west-1 cannot be read
    # while one of its NON_FIPS backups is deleted
    fleet.backend(PRIMARY).backups[pinned].never_expires = False
    pinned_again = fleet.add_backup(
        PRIMARY, pki, created=now - timedelta(days=50), never_expires=True
    )
    del fleet.backend(SECONDARY).backups[older]
    server.layer.faults.append(Fault("deny", operation="DescribeBackups", region=SECONDARY))
    second = run_once(inbox, bucket, capsys)
    assert second.summary["status"] == "INCOMPLETE"
    assert second.summary["publish_reason"] == "incomplete"
    changes = second.document["changes"]
    assert changes["baseline"]["run_id"] == first.summary["run_id"]
    assert changes["new"] == [never_expires(PRIMARY, pki, pinned_again)]
    # Then only what it saw is resolved: nothing in eu-west-1, which it could not read
    assert [r["id"] for r in changes["resolved"]] == [never_expires(PRIMARY, pki, pinned)]
    assert changes["unchanged"] == 0
    assert (second.attributes["new_findings"], second.attributes["resolved_findings"]) == (
        "1",
        "1",
    )
    assert second.attributes["new_severity"] == "HIGH"
    assert (second.metrics[("NewFindings", ())], second.metrics[("ResolvedFindings", ())]) == (
        1,
        1,
    )
    (message,) = second.messages
    since = f"since {first.document['generated_at'][:10]}"
    assert message["Subject"].startswith("[INCOMPLETE] 2 scan errors; 1 new, 1 resolved")
    body = message["Message"]
    assert (
        f"Since {first.document['generated_at']}: 1 new (1 HIGH), 1 resolved (1 HIGH); "
        "0 unchanged." in body
    )
    assert f"  NEW [HIGH] never-expires  {pinned_again}  cluster {pki}  {PRIMARY}" in body
    assert f"  RESOLVED [HIGH] never-expires  {pinned}  cluster {pki}  {PRIMARY}" in body
    # the backup deleted in the region it could not read is not checked, never resolved
    assert [line for line in body.splitlines() if older in line] == [
        f"  NOT CHECKED [HIGH] mode  {older}  cluster {legacy}  {SECONDARY}  {ACCOUNT}"
        f"  (first seen {first.document['generated_at'][:10]})"
    ]
    # and an INCOMPLETE run never becomes the baseline
    assert baseline_pointer(bucket)["report_key"] == first_key

    # Run 3: eu-west-1 answers again; compared with run 1, the last complete run
    server.layer.faults.clear()
    third = run_once(inbox, bucket, capsys)
    assert third.summary["status"] == "NON_COMPLIANT"
    changes = third.document["changes"]
    assert changes["baseline"]["run_id"] == first.summary["run_id"]
    assert changes["new"] == [never_expires(PRIMARY, pki, pinned_again)]
    assert sorted(r["id"] for r in changes["resolved"]) == sorted(
        [never_expires(PRIMARY, pki, pinned), mode(legacy, older)]
    )
    assert changes["unchanged"] == 1
    still_open = {f["id"]: f["first_seen"] for f in third.document["findings"]}
    assert still_open[mode(legacy, old)] == first.document["generated_at"]
    assert (third.attributes["new_findings"], third.attributes["resolved_findings"]) == ("1", "2")
    assert (third.metrics[("NewFindings", ())], third.metrics[("ResolvedFindings", ())]) == (1, 2)
    (message,) = third.messages
    assert message["Subject"] == (
        f"[NON_COMPLIANT] 1 new, 2 resolved {since} - CloudHSM backups 123456789012: 2 findings"
    )
    body = message["Message"]
    assert body.index("NEW (1)") < body.index("RESOLVED (2)") < body.index("STILL OPEN (1)")
    assert f"  RESOLVED [HIGH] mode  {older}  cluster {legacy}  {SECONDARY}" in body
    third_key = third.summary["report"].removeprefix(f"s3://{bucket}/")
    assert baseline_pointer(bucket)["report_key"] == third_key

    # Run 4: nothing changed: nothing is published, the metrics still say so
    fourth = run_once(inbox, bucket, capsys)
    assert fourth.messages == []
    assert fourth.summary["published"] is False
    assert (fourth.metrics[("NewFindings", ())], fourth.metrics[("ResolvedFindings", ())]) == (0, 0)
    assert fourth.document["changes"]["unchanged"] == 2

    # Run 5: everything fixed: one all-clear email lists what was resolved
    fleet.backend(PRIMARY).backups[pinned_again].never_expires = False
    del fleet.backend(SECONDARY).clusters[legacy]
    del fleet.backend(SECONDARY).backups[old]
    fifth = run_once(inbox, bucket, capsys)
    assert fifth.summary["status"] == "COMPLIANT"
    (message,) = fifth.messages
    assert message["Subject"].startswith("[COMPLIANT] all clear: 0 new, 2 resolved")
    body = message["Message"]
    assert "All clear: 2 findings above INFO resolved." in body
    assert f"  RESOLVED [HIGH] never-expires  {pinned_again}" in body
    assert f"  RESOLVED [HIGH] mode  {old}" in body
    assert fifth.attributes["resolved_findings"] == "2"


def test_a_run_whose_digest_was_not_published_moves_no_baseline_so_its_retry_publishes(
    setting: tuple[FleetServer, Inbox, str], capsys: Any
) -> None:
    server, inbox, bucket = setting
    now = datetime.now(UTC)
    fleet = Fleet()
    pki = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_daily_backups(PRIMARY, pki, days=60, now=now)
    first = run_once(inbox, bucket, capsys)
    first_key = first.summary["report"].removeprefix(f"s3://{bucket}/")
    # Given a new problem, and a publish that is denied
    pinned = fleet.add_backup(PRIMARY, pki, created=now - timedelta(days=50), never_expires=True)
    server.layer.faults.append(Fault("deny", operation="Publish"))
    # When the run fails to deliver
    with pytest.raises(DeliveryError):
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    capsys.readouterr()
    # Then the baseline has not moved, so Lambda's retry still sees the change and publishes
    assert baseline_pointer(bucket)["report_key"] == first_key
    server.layer.faults.clear()
    retry = run_once(inbox, bucket, capsys)
    assert retry.summary["publish_reason"] == "changes"
    assert retry.document["changes"]["new"] == [never_expires(PRIMARY, pki, pinned)]
    assert len(retry.messages) == 1


def test_a_stored_baseline_that_cannot_be_used_is_stated_and_the_history_heals(
    setting: tuple[FleetServer, Inbox, str], capsys: Any
) -> None:
    _, inbox, bucket = setting
    now = datetime.now(UTC)
    fleet = Fleet()
    legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
    fleet.add_daily_backups(SECONDARY, legacy, days=2, now=now, mode="NON_FIPS")
    first = run_once(inbox, bucket, capsys)
    first_key = first.summary["report"].removeprefix(f"s3://{bucket}/")
    # Given the stored baseline report edited: a finding's first_seen is not a string
    stored = dict(first.document)
    stored["findings"] = [{**stored["findings"][0], "first_seen": []}, *stored["findings"][1:]]
    boto3.client("s3").put_object(Bucket=bucket, Key=first_key, Body=json.dumps(stored).encode())
    # When the next run starts: it does not fail, and its digest says why it has no baseline
    second = run_once(inbox, bucket, capsys)
    assert second.summary["publish_reason"] == "no baseline"
    (message,) = second.messages
    (line,) = [x for x in message["Message"].splitlines() if x.startswith("Baseline:")]
    assert line == (
        f"Baseline:  COULD NOT BE READ: s3://{bucket}/{first_key}: baseline could not be "
        "read: findings.0.first_seen: Input should be a valid string"
    )
    # and it becomes the baseline, so the run after it compares with it again
    second_key = second.summary["report"].removeprefix(f"s3://{bucket}/")
    assert baseline_pointer(bucket)["report_key"] == second_key
    third = run_once(inbox, bucket, capsys)
    assert third.document["changes"]["baseline"]["run_id"] == second.summary["run_id"]
    assert third.document["changes"]["new"] == []

"""The handler end to end against moto: CloudHSM v2, STS, S3 and an SNS topic read back
through a subscribed SQS queue, as an email subscriber would get it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from lambda_output import emf_values, log_records, printed_json

from hsm_backup_audit.configuration import ConfigurationError
from hsm_backup_audit.constants import Rule
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    Inbox,
    LocalContext,
    create_report_bucket,
    create_topic_and_inbox,
)
from hsm_backup_audit_demo.server import Fault, FleetServer, describe_regions_answer

HOSTILE_TAG = "prod\n[COMPLIANT] all clear\r\nfix: ok\x1b[2J\x00\u202e ünïcödé " + "z" * 240

DOCS = Path(__file__).resolve().parents[2] / "docs"


def compliant_cluster(fleet: Fleet, now: datetime, region: str = PRIMARY, days: int = 60) -> str:
    cluster = fleet.add_cluster(region, retention_days=90)
    fleet.add_daily_backups(region, cluster, days=days, now=now)
    return cluster


def only_message(inbox: Inbox) -> dict[str, Any]:
    messages = inbox.messages()
    assert len(messages) == 1, "one SNS message per run, never a flood"
    return messages[0]


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {key: value["Value"] for key, value in message["MessageAttributes"].items()}


def test_a_compliant_fleet_sends_an_all_clear_stores_the_report_and_emits_zeros(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime, capsys: Any
) -> None:
    # Given a healthy cluster with 60 daily backups
    compliant_cluster(fleet, wall_now)
    # When the scheduled event invokes the handler
    context = LocalContext()
    summary = lambda_handler(SCHEDULED_EVENT, context)
    out = capsys.readouterr().out
    # Then it returns a short summary,
    assert summary["status"] == "COMPLIANT"
    assert summary["backups_scanned"] == 60
    assert summary["published"] is True
    # the email is an all clear with the counts and the status attribute,
    message = only_message(inbox)
    assert message["Subject"] == (
        "[COMPLIANT] CloudHSM backups 123456789012: 60 backups checked, 0 findings in 0 clusters"
    )
    assert attributes(message) == {
        "status": "COMPLIANT",
        "findings": "0",
        "severity": "NONE",
        "new_findings": "0",
        "resolved_findings": "0",
        "new_severity": "NONE",
    }
    assert "No findings: every backup meets the policy." in message["Message"]
    assert f"Report:    {summary['report']}" in message["Message"]
    # the full JSON report is in S3 under the dated key and as latest.json,
    day = datetime.strptime(summary["run_id"][:16], "%Y%m%dT%H%M%SZ")
    dated = f"reports/123456789012/{day:%Y/%m/%d}/{summary['run_id']}.json"
    assert summary["run_id"].endswith(context.aws_request_id)
    assert summary["report"] == f"s3://{lambda_env['REPORT_BUCKET']}/{dated}"
    s3 = boto3.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=lambda_env["REPORT_BUCKET"])["Contents"]}
    # the report, the account's latest, and this invocation's delivery marker (and history)
    assert keys - {k for k in keys if k.startswith("history/")} == {
        dated,
        "reports/123456789012/latest.json",
        f"deliveries/{context.aws_request_id}.json",
    }
    document = json.loads(
        s3.get_object(Bucket=lambda_env["REPORT_BUCKET"], Key=dated)["Body"].read()
    )
    assert document["schema_version"] == 1
    assert document["summary"]["backups_scanned"] == 60
    # and every metric is emitted, zeros included
    values = emf_values(out)
    assert values[("BackupsScanned", ())] == 60
    assert values[("NonCompliantBackups", ())] == 0
    assert values[("Findings", ())] == 0
    assert values[("ScanErrors", ())] == 0
    assert ("ScanDurationSeconds", ()) in values
    for rule in Rule:
        assert values[("Findings", (("Rule", str(rule)),))] == 0
    assert values[("Findings", (("Region", PRIMARY),))] == 0
    assert not any(dims and dims[0][0] == "Account" for _, dims in values)


def test_a_non_compliant_fleet_is_reported_by_rule_and_region(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a NeverExpires backup in us-east-1 and a NON_FIPS cluster in eu-west-1
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    pki = compliant_cluster(fleet, wall_now)
    pinned = fleet.add_backup(
        PRIMARY, pki, created=wall_now - timedelta(days=70), never_expires=True
    )
    legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
    fleet.add_daily_backups(SECONDARY, legacy, days=2, now=wall_now, mode="NON_FIPS")
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then the email names the status, the counts and every finding with its fix
    assert summary["status"] == "NON_COMPLIANT"
    message = only_message(inbox)
    assert (
        message["Subject"]
        == "[NON_COMPLIANT] CloudHSM backups 123456789012: 3 findings in 2 clusters"
    )
    assert attributes(message) == {
        "status": "NON_COMPLIANT",
        "findings": "3",
        "severity": "HIGH",
        "new_findings": "3",  # the first run: every finding is new
        "resolved_findings": "0",
        "new_severity": "HIGH",
    }
    body = message["Message"]
    assert f"  - never-expires  {pinned}  cluster {pki}  {PRIMARY}  123456789012" in body
    assert f"--backup-id {pinned}" in body
    assert "[HIGH] mode: 2 findings" in body
    # and the metrics break the findings down by rule and by region
    values = emf_values(out)
    assert values[("Findings", ())] == 3
    assert values[("NonCompliantBackups", ())] == 3
    assert values[("Findings", (("Rule", "never-expires"),))] == 1
    assert values[("Findings", (("Rule", "mode"),))] == 2
    assert values[("Findings", (("Rule", "stale-cluster"),))] == 0
    assert values[("Findings", (("Region", PRIMARY),))] == 1
    assert values[("Findings", (("Region", SECONDARY),))] == 2


def test_findings_far_beyond_256_kb_arrive_grouped_in_one_readable_message(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime
) -> None:
    # Given 3,000 backups that each break three rules (9,000 findings, megabytes of text)
    cluster = fleet.add_cluster(PRIMARY, retention_days=90, mode="NON_FIPS", hsm_type="hsm1.medium")
    for hour in range(3000):
        fleet.add_backup(
            PRIMARY,
            cluster,
            created=wall_now - timedelta(hours=hour + 1),
            never_expires=True,
            mode="NON_FIPS",
            hsm_type="hsm1.medium",
        )
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    # Then one message arrives, well under 64 KB: one entry per rule for the cluster,
    assert summary["findings"] == 9000
    message = only_message(inbox)
    body = message["Message"]
    assert len(body.encode("utf-8")) <= 64 * 1024
    assert summary["findings_in_digest"] == 9000
    lines = body.splitlines()
    assert (
        sum(line.startswith("  - ") and ": 3,000 backups in 1 cluster" in line for line in lines)
        == 3
    )
    assert lines.count(f"    cluster {cluster}  {PRIMARY}  123456789012: 3,000 backups (") == 0
    assert (
        sum(
            line.startswith(f"    cluster {cluster}  {PRIMARY}  123456789012: 3,000 backups (")
            for line in lines
        )
        == 3
    )
    assert f"Report:    {summary['report']}" in body
    # and the report it points at holds every finding
    bucket, key = summary["report"].removeprefix("s3://").split("/", 1)
    document = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(document["findings"]) == 9000


def test_a_hostile_tag_cannot_forge_a_line_in_the_email_or_the_logs(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime, capsys: Any
) -> None:
    # Given a NeverExpires backup whose tag value carries newlines, escapes and 300 characters
    cluster = compliant_cluster(fleet, wall_now)
    fleet.add_backup(
        PRIMARY,
        cluster,
        created=wall_now - timedelta(days=70),
        never_expires=True,
        tags=[{"Key": "Name", "Value": HOSTILE_TAG}, {"Key": HOSTILE_TAG[:128], "Value": "x"}],
    )
    # When the handler runs
    lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then the tag shows only on its own "tags:" line, bounded and without control characters
    message = only_message(inbox)
    lines = message["Message"].splitlines()
    tagged = [line for line in lines if "all clear" in line]
    assert len(tagged) == 1 and tagged[0].startswith(
        "    tags: Name=prod [COMPLIANT] all clear fix: ok"
    )
    assert len(tagged[0]) < 200
    assert "ünïcödé" in tagged[0]
    assert not any(ch in message["Message"] for ch in "\r\x1b\x00\u202e")
    assert not any(line.startswith(("[COMPLIANT]", "fix:")) for line in lines)
    assert message["Subject"].isascii() and "all clear" not in message["Subject"]
    # and every line the function printed is one whole JSON document (no forged log line)
    assert printed_json(out)


class CountdownContext(LocalContext):
    """A Lambda context whose clock runs out after a few looks at it."""

    def __init__(self, looks: int) -> None:
        super().__init__()
        self.looks = looks

    def get_remaining_time_in_millis(self) -> int:
        self.looks -= 1
        return 900_000 if self.looks >= 0 else 30_000


def test_running_out_of_time_stops_reading_and_publishes_what_was_seen_as_incomplete(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime, capsys: Any
) -> None:
    # Given 500 backups (10 pages owned, 10 shared) and a clock that runs short after 3 pages
    compliant_cluster(fleet, wall_now, days=500)
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, CountdownContext(looks=3))
    out = capsys.readouterr().out
    # Then it stops early, still delivers, and says the audit is incomplete
    assert summary["status"] == "INCOMPLETE"
    assert summary["stopped_early"] is True
    assert summary["backups_scanned"] < 500
    assert summary["published"] is True
    message = only_message(inbox)
    assert re.match(
        r"\[INCOMPLETE\] [0-9]+ scan errors?; CloudHSM backups 123456789012", message["Subject"]
    )
    assert "DeadlineExceeded: stopped early: the time budget ran out" in message["Message"]
    assert emf_values(out)[("ScanErrors", ())] >= 1


def test_notify_findings_keeps_quiet_on_a_compliant_run_but_still_measures_and_stores(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given NOTIFY=findings and a healthy fleet
    monkeypatch.setenv("NOTIFY", "findings")
    compliant_cluster(fleet, wall_now)
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    # Then no email is sent, but the report is stored and the metrics emitted
    assert summary["published"] is False
    assert inbox.messages() == []
    assert summary["report"].startswith("s3://")
    assert emf_values(capsys.readouterr().out)[("BackupsScanned", ())] == 60
    # and once a finding appears, the same configuration sends the digest
    fleet.add_backup(
        PRIMARY, fleet.add_cluster(PRIMARY, mode="NON_FIPS"), created=wall_now, mode="NON_FIPS"
    )
    assert lambda_handler(SCHEDULED_EVENT, LocalContext())["published"] is True
    assert only_message(inbox)["Subject"].startswith("[NON_COMPLIANT]")


def test_a_configuration_error_fails_at_once_with_one_log_line_and_publishes_nothing(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a healthy fleet but a NOTIFY value the function does not know
    compliant_cluster(fleet, wall_now)
    monkeypatch.setenv("NOTIFY", "weekly")
    # When the handler is invoked
    with pytest.raises(ConfigurationError):
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then one clear error line is logged, and nothing says "compliant" anywhere
    records = log_records(out)
    assert len(records) == 1
    assert records[0]["level"] == "ERROR"
    assert records[0]["message"].startswith("configuration error: NOTIFY: ")
    # the very line docs/lambda.md shows
    assert f"(`{records[0]['message']}`)" in (DOCS / "lambda.md").read_text()
    assert inbox.messages() == []
    assert emf_values(out) == {}


def test_logs_carry_the_events_correlation_id_and_the_summary(
    fleet: Fleet, lambda_env: dict[str, str], inbox: Inbox, wall_now: datetime, capsys: Any
) -> None:
    # Given a healthy fleet
    compliant_cluster(fleet, wall_now)
    # When the scheduled event invokes the handler
    lambda_handler(SCHEDULED_EVENT, LocalContext())
    # Then the final log line is structured, correlated with the event and summarises the run
    records = log_records(capsys.readouterr().out)
    delivered = [r for r in records if r["message"] == "audit delivered"]
    assert len(delivered) == 1
    assert delivered[0]["correlation_id"] == SCHEDULED_EVENT["id"]
    assert delivered[0]["summary"]["status"] == "COMPLIANT"


@pytest.fixture
def fault_endpoint(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, monkeypatch: pytest.MonkeyPatch
) -> FleetServer:
    """A clean moto server behind a fault layer, reached through AWS_ENDPOINT_URL as in Lambda."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fleet_server.url)
    return fleet_server


def test_a_region_that_cannot_be_read_makes_the_run_incomplete_and_the_rest_is_still_reported(
    fault_endpoint: FleetServer, wall_now: datetime, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Given a moto server that denies eu-west-1's backups, and findings in us-east-1
    fleet = Fleet()
    cluster = compliant_cluster(fleet, wall_now)
    pinned = fleet.add_backup(PRIMARY, cluster, created=wall_now, never_expires=True)
    compliant_cluster(fleet, wall_now, region=SECONDARY)
    inbox = create_topic_and_inbox()
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", create_report_bucket())
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    fault_endpoint.layer.faults.append(Fault("deny", operation="DescribeBackups", region=SECONDARY))
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    capsys.readouterr()
    # Then the run is INCOMPLETE, the email says so and names the failed listing,
    assert summary["status"] == "INCOMPLETE"
    message = only_message(inbox)
    assert message["Subject"].startswith("[INCOMPLETE] 2 scan errors; CloudHSM backups")
    assert attributes(message)["status"] == "INCOMPLETE"
    body = message["Message"]
    denied = "CloudHsmAccessDeniedException"
    assert f"123456789012 {SECONDARY} DescribeBackups (owned): {denied}" in body
    assert f"123456789012 {SECONDARY} DescribeBackups (shared): {denied}" in body
    # and what was read in the other region is still reported
    assert f"  - never-expires  {pinned}  cluster {cluster}  {PRIMARY}" in body


def test_member_accounts_are_audited_and_broken_down_by_account(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a healthy audit account and a member account with a NeverExpires backup
    compliant_cluster(fleet, wall_now)
    member = Fleet(account_id="222222222222")
    pinned = member.add_backup(
        PRIMARY, compliant_cluster(member, wall_now), created=wall_now, never_expires=True
    )
    monkeypatch.setenv("MEMBER_ROLE_ARNS", "arn:aws:iam::222222222222:role/hsm-backup-audit-member")
    monkeypatch.setenv("EXTERNAL_ID", "audit-external-id")
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then both accounts are read, the email has a row per account and the finding's account,
    assert summary["backups_scanned"] == 121
    message = only_message(inbox)
    assert (
        message["Subject"] == "[NON_COMPLIANT] CloudHSM backups 2 accounts: 1 finding in 1 cluster"
    )
    assert "Accounts:  123456789012, 222222222222" in message["Message"]
    assert f"  - never-expires  {pinned}  cluster " in message["Message"]
    assert f"{PRIMARY}  222222222222" in message["Message"]
    # and the metrics carry Findings by Account for the account with findings only
    values = emf_values(out)
    assert values[("Findings", (("Account", "222222222222"),))] == 1
    assert ("Findings", (("Account", "123456789012"),)) not in values
    # and the external id never reaches the logs
    assert "audit-external-id" not in out


def test_regions_all_audits_the_regions_enabled_for_the_account(
    fault_endpoint: FleetServer, wall_now: datetime, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Given REGIONS=all, an account with two regions enabled (one of them opted in)
    fleet = Fleet()
    compliant_cluster(fleet, wall_now)
    compliant_cluster(fleet, wall_now, region="ap-east-1")
    enabled = {PRIMARY: "opt-in-not-required", "ap-east-1": "opted-in"}
    fault_endpoint.layer.faults.append(
        Fault("reply", operation="DescribeRegions", reply=describe_regions_answer(enabled))
    )
    inbox = create_topic_and_inbox()
    bucket = create_report_bucket()
    monkeypatch.setenv("TOPIC_ARN", inbox.topic_arn)
    monkeypatch.setenv("REPORT_BUCKET", bucket)
    monkeypatch.setenv("REGIONS", "all")
    # When the handler runs
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    capsys.readouterr()
    # Then exactly those regions are audited (the run is complete, not INCOMPLETE forever
    # on regions the account cannot call), and the report names the ones skipped
    assert summary["status"] == "COMPLIANT"
    assert summary["backups_scanned"] == 120
    listed = {c.region for c in fault_endpoint.layer.calls if c.operation == "DescribeBackups"}
    assert listed == {PRIMARY, "ap-east-1"}
    s3 = boto3.client("s3", endpoint_url=fault_endpoint.url)
    latest = s3.get_object(Bucket=bucket, Key="reports/123456789012/latest.json")
    scope = json.loads(latest["Body"].read())["scope"]
    assert scope["regions"] == ["ap-east-1", PRIMARY]
    assert SECONDARY in scope["regions_not_enabled"]["123456789012"]

"""Five mornings of one evolving fleet, read as a compliance officer reads them, in each
NOTIFY mode: the scheduled handler on moto, the email read from an SQS queue subscribed to
the topic. Morning by morning: fixes (and the pending deletions they cause), new NON_FIPS
backups, a deleted cluster, all clear, a quiet day and the weekly digest. Each claim of each
email is asserted: subject length and lead, counts, grouping, fix commands, resolved
reasons, the all-clear, and attribute types (a numeric filter policy proves Number)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from hsm_backup_audit.configuration import configuration
from hsm_backup_audit.constants import WEEKDAYS
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import SCHEDULED_EVENT, Inbox, LocalContext

SNS_SUBJECT_LESS_THAN = 100  # botocore's model; tests/unit/test_digest_subject.py reads it
ACCOUNT = "123456789012"


@dataclass
class Morning:
    summary: dict[str, Any]
    emails: list[dict[str, Any]]

    @property
    def email(self) -> dict[str, Any]:
        (email,) = self.emails
        return email

    @property
    def lines(self) -> list[str]:
        return str(self.email["Message"]).splitlines()

    @property
    def subject(self) -> str:
        return str(self.email["Subject"])


def _filtered_inbox(topic_arn: str) -> Inbox:
    """A second subscriber that wants only runs with something new: a numeric filter."""
    sns, sqs = boto3.client("sns", region_name=PRIMARY), boto3.client("sqs", region_name=PRIMARY)
    url = sqs.create_queue(QueueName="only-new")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"new_findings": [{"numeric": [">", 0]}]})},
    )
    return Inbox(topic_arn, url, sqs)


def _morning(inbox: Inbox, monkeypatch: pytest.MonkeyPatch, weekly: bool = False) -> Morning:
    today = WEEKDAYS[datetime.now(UTC).weekday()]
    tomorrow = WEEKDAYS[(datetime.now(UTC).weekday() + 1) % 7]
    monkeypatch.setenv("WEEKLY_DIGEST_DAY", today if weekly else tomorrow)
    configuration.cache_clear()
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    emails = inbox.messages()
    for email in emails:  # every subject SNS would accept, led by the status
        assert len(email["Subject"]) < SNS_SUBJECT_LESS_THAN
        assert email["Subject"].startswith(f"[{summary['status']}]")
        types = {k: v["Type"] for k, v in email["MessageAttributes"].items()}
        assert {types[k] for k in ("findings", "new_findings", "resolved_findings")} == {"Number"}
    return Morning(summary, emails)


def _fix(summary: dict[str, Any], rule: str, cluster: str | None = None) -> str:
    command = f"    fix: hsm-backup-audit fix {summary['report']} --rule {rule}"
    return command + (f" --cluster {cluster}" if cluster else "")


@pytest.mark.parametrize("notify", ["always", "findings", "changes"])
def test_five_mornings_of_one_fleet_read_line_by_line(
    notify: str,
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv("NOTIFY", notify)
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    only_new = _filtered_inbox(inbox.topic_arn)
    now = datetime.now(UTC)
    # Given six application clusters with two pinned backups each, an hsm1 cluster with a
    # too-short retention, and a forgotten copy in eu-west-1 of an application backup
    apps = [fleet.add_cluster(PRIMARY, retention_days=90) for _ in range(6)]
    pinned: list[str] = []
    for app in apps:
        daily = fleet.add_daily_backups(PRIMARY, app, days=10, now=now)
        for backup in daily[4:6]:
            fleet.backend(PRIMARY).backups[backup].never_expires = True
            pinned.append(backup)
    old = fleet.add_cluster(SECONDARY, retention_days=7, hsm_type="hsm1.medium")
    old_backups = fleet.add_daily_backups(SECONDARY, old, days=5, now=now, hsm_type="hsm1.medium")
    copy = fleet.add_backup(
        SECONDARY,
        apps[0],
        created=now - timedelta(days=120),
        source_region=PRIMARY,
        source_backup="backup-sourcesource",
        source_cluster=apps[0],
    )

    # Morning 0: the first run of the scope, the baseline
    first = _morning(inbox, monkeypatch)
    assert first.summary["status"] == "NON_COMPLIANT"
    assert len(first.emails) == 1
    assert "First run for this scope: no earlier complete report to compare with." in first.lines
    # the copy is in eu-west-1, its cluster in us-east-1
    assert (
        f"  - overdue  {copy}  cluster {apps[0]}  {PRIMARY}  {ACCOUNT}  copy in {SECONDARY}"
        in first.lines
    )
    # 12 pinned backups, two in each of six clusters: one block, a count per cluster
    assert "  - never-expires: 12 backups in 6 clusters" in first.lines
    assert sum(": 2 backups (" in line for line in first.lines) == 6
    assert _fix(first.summary, "never-expires") in first.lines
    assert only_new.messages() and not inbox.messages()

    # Morning 1: the pins are fixed; five of those backups are then deleted (pending)
    backups = fleet.backend(PRIMARY).backups
    for number, backup in enumerate(pinned):
        backups[backup].never_expires = False
        if number < 5:
            backups[backup].backup_state = "PENDING_DELETION"
            backups[backup].delete_timestamp = (now + timedelta(days=6 + number % 2)).replace(
                tzinfo=None
            )
    fixes = _morning(inbox, monkeypatch)
    assert fixes.summary["status"] == "NON_COMPLIANT"
    assert len(fixes.emails) == 1
    # news without INFO: 0 new, 12 resolved; the 5 pending deletions apart
    assert fixes.subject.startswith("[NON_COMPLIANT] 0 new, 12 resolved")
    assert fixes.lines[1].endswith(": 0 new (none), 12 resolved (12 HIGH); 7 unchanged.")
    assert fixes.lines[2] == "INFO apart: 5 new, 0 resolved (not counted as news above)."
    # resolved, grouped, each saying why (this branch knows "fixed"; the lead adds the rest)
    assert "  RESOLVED [HIGH] never-expires: 12 backups (fixed 12)" in fixes.lines
    # the group of pending deletions states the range of their dates
    pending = next(n for n, ln in enumerate(fixes.lines) if ln.startswith("  NEW [INFO] pending"))
    assert fixes.lines[pending] == "  NEW [INFO] pending-deletion: 5 backups in 3 clusters"
    assert " to " in fixes.lines[pending + 4] and "permanently deleted" in fixes.lines[pending + 4]
    assert fixes.email["MessageAttributes"]["new_findings"]["Value"] == "5"
    assert only_new.messages()  # 5 new (INFO): the numeric filter matched

    # Morning 2: a NON_FIPS cluster appears with six backups
    legacy = fleet.add_cluster(SECONDARY, retention_days=90, mode="NON_FIPS")
    fleet.add_daily_backups(SECONDARY, legacy, days=6, now=now, mode="NON_FIPS")
    new_fips = _morning(inbox, monkeypatch)
    assert new_fips.subject.startswith("[NON_COMPLIANT] 6 new, 0 resolved")
    block = new_fips.lines.index("  NEW [HIGH] mode: 6 backups in 1 cluster")
    assert block < 20  # the first screen
    assert new_fips.lines[block + 1].startswith(f"    cluster {legacy}  {SECONDARY}  {ACCOUNT}: 6")
    assert _fix(new_fips.summary, "mode", legacy) in new_fips.lines
    assert new_fips.lines[block + 4].startswith(
        "    or one at a time, e.g.: Delete it once no restore needs it: "
        "aws cloudhsmv2 delete-backup --backup-id backup-"
    )
    table = new_fips.lines.index("Findings per rule")
    assert (
        "  mode                         HIGH        6        6         0" in new_fips.lines[table:]
    )
    assert [m["MessageAttributes"]["new_findings"]["Value"] for m in only_new.messages()] == ["6"]

    # Morning 3: the hsm1 cluster is deleted; its backups stay
    del fleet.backend(SECONDARY).clusters[old]
    deleted = _morning(inbox, monkeypatch)
    assert deleted.subject.startswith("[NON_COMPLIANT] 0 new, 1 resolved")
    assert any(
        line.startswith(f"  RESOLVED [MEDIUM] retention-policy  cluster {old}  {SECONDARY}")
        and "(cluster deleted; first seen" in line
        for line in deleted.lines
    )
    assert (
        f"    cluster {old}  {SECONDARY}  {ACCOUNT}  (cluster deleted): 5 backups ("
        in "\n".join(deleted.lines)
    )
    commands = [ln for ln in deleted.lines if "aws cloudhsmv2" in ln or "audit fix" in ln]
    assert not any(old in line for line in commands)  # no fix names the deleted cluster
    assert _fix(deleted.summary, "hsm-type") in deleted.lines
    assert any("The cluster is deleted: delete this backup" in ln for ln in deleted.lines)
    assert not only_new.messages()

    # Morning 4: everything fixed: one all-clear, in every mode
    for backup in [*old_backups, copy]:
        del fleet.backend(SECONDARY).backups[backup]
    for backup in [
        b for b, v in fleet.backend(SECONDARY).backups.items() if v.cluster_id == legacy
    ]:
        del fleet.backend(SECONDARY).backups[backup]
    del fleet.backend(SECONDARY).clusters[legacy]
    clear = _morning(inbox, monkeypatch)
    assert clear.summary["status"] == "COMPLIANT"
    assert clear.subject.startswith("[COMPLIANT] all clear: 0 new, 12 resolved")
    assert "All clear: 12 findings above INFO resolved." in clear.lines
    assert "Nothing above INFO: every backup meets the policy (5 INFO findings below)." in (
        clear.lines
    )
    assert "No findings: every backup meets the policy." not in clear.lines
    # each resolved entry says why: every finding left with its backup ("backup deleted");
    # none reads "fixed" (morning 3 held the "cluster deleted" one)
    resolved = [ln for ln in clear.lines if ln.startswith("  RESOLVED [")]
    assert resolved and all("(fixed;" not in ln for ln in resolved)
    assert any("(backup deleted" in ln for ln in resolved)
    if notify == "findings":
        assert clear.summary["publish_reason"] == "all clear"

    # Morning 5: a quiet day: only NOTIFY=always writes
    quiet = _morning(inbox, monkeypatch)
    assert len(quiet.emails) == (1 if notify == "always" else 0)
    if quiet.emails:
        assert quiet.subject.startswith("[COMPLIANT] 0 new, 0 resolved")
        assert "weekly" not in quiet.subject

    # Morning 6: the weekly digest's day: NOTIFY=changes sends it, and says so
    weekly = _morning(inbox, monkeypatch, weekly=True)
    assert len(weekly.emails) == (0 if notify == "findings" else 1)
    if notify == "changes":
        assert weekly.subject.startswith("[COMPLIANT] weekly digest: 0 new, 0 resolved")
        assert weekly.lines[0] == "CloudHSM backup audit: COMPLIANT (weekly digest)"
        assert weekly.summary["publish_reason"] == "weekly digest"
    assert not only_new.messages()
    capsys.readouterr()

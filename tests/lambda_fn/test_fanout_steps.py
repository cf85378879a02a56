"""The fan-out's three step handlers against moto, run in order in this process with the
documents a real execution passes (moto cannot execute the state machine itself): plan's
output; each batch as ItemBatcher hands it over; the plan's output again to merge."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from lambda_output import emf_values

from hsm_backup_audit.fanout import batch_handler, merge_handler, plan_handler
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit.steps import StepInputError
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import SCHEDULED_EVENT, Inbox, LocalContext
from hsm_backup_audit_demo.organization import Organization
from hsm_backup_audit_demo.sharing import honour_shared, share

BATCH_SIZE = 2


@pytest.fixture
def organization(
    lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, wall_now: datetime
) -> Iterator[list[str]]:
    """The caller and 5 members in two regions; member 0 owns an old backup shared with
    member 3 (another batch), member 4 holds a never-expiring one."""
    monkeypatch.setenv("ORGANIZATION", "true")
    monkeypatch.setenv("REGIONS", f"{PRIMARY},{SECONDARY}")
    with honour_shared():
        members = Organization.create().add_accounts(5)
        for account_id in [DEFAULT_ACCOUNT, *members]:
            fleet = Fleet(account_id)
            for region in (PRIMARY, SECONDARY):
                cluster = fleet.add_cluster(region, retention_days=30)
                ids = fleet.add_daily_backups(region, cluster, days=2, now=wall_now)
                fleet.backend(region).backups[ids[0]].never_expires = account_id == members[4]
        owner = Fleet(members[0])
        cluster = next(iter(owner.backend(PRIMARY).clusters))
        old = owner.add_backup(PRIMARY, cluster, created=wall_now - timedelta(days=90))
        share(members[0], PRIMARY, old, members[3])
        yield members


def read_json(url_or_bucket: str, key: str | None = None) -> Any:
    if key is None:
        url_or_bucket, key = url_or_bucket.removeprefix("s3://").split("/", 1)
    body = boto3.client("s3").get_object(Bucket=url_or_bucket, Key=key)["Body"].read()
    return json.loads(body)


def run_state_machine(
    skip_batches: tuple[int, ...] = (),
    tamper: Callable[[list[dict]], None] | None = None,
    batches_error: dict[str, str] | None = None,
) -> tuple[dict, dict, list[dict]]:
    """plan -> every batch (ItemBatcher: BATCH_SIZE items, the plan's output as
    BatchInput) -> merge, as the state machine passes them. Returns (plan, merge summary,
    batch results)."""
    plan = plan_handler(SCHEDULED_EVENT, LocalContext())
    items = read_json(plan["bucket"], plan["work_list"])  # the Map's S3 item reader
    if tamper is not None:
        tamper(items)  # what someone who can write the work list could hand a batch
    batch_input = {key: plan[key] for key in ("run", "bucket", "prefix", "generated_at")}
    results = []
    for number, start in enumerate(range(0, len(items), BATCH_SIZE)):
        if number in skip_batches:
            continue  # this child execution failed or timed out
        batch = {"Items": items[start : start + BATCH_SIZE], "BatchInput": batch_input}
        results.append(batch_handler(batch, LocalContext()))
    # The merge gets the Map's input again (the Map's ResultPath is null), and the Map's
    # error when it stopped (its Catch: ResultPath $.batches_error)
    event = plan if batches_error is None else {**plan, "batches_error": batches_error}
    summary = merge_handler(event, LocalContext())
    return plan, summary, results


def test_plan_batches_merge_give_the_single_run_report_and_email(
    organization: list[str], inbox: Inbox, capsys: Any
) -> None:
    # Given the organization audited once by the single-run function
    single = lambda_handler(SCHEDULED_EVENT, LocalContext())
    single_report = read_json(single["report"])
    inbox.messages()
    capsys.readouterr()
    # When the fan-out runs: plan, 3 batches of 2 accounts, merge
    plan, summary, results = run_state_machine()
    out = capsys.readouterr().out
    # Then the plan wrote the work list: the caller through its own credentials first,
    # then every member through the member role,
    items = read_json(plan["bucket"], plan["prefix"] + "accounts.json")
    assert items[0] == {"account_id": DEFAULT_ACCOUNT, "role_arn": None}
    assert [i["role_arn"] for i in items[1:]] == [
        f"arn:aws:iam::{m}:role/hsm-backup-audit-member" for m in sorted(organization)
    ]
    assert [r["accounts"] for r in results] == [2, 2, 2]
    # the merged report is the single run's (the shared backup is the owner's, once),
    merged_report = read_json(summary["report"])
    changes = merged_report.pop("changes")
    for document in (merged_report, single_report):
        for key in ("generated_at", "run_id"):
            document.pop(key)
    single_report.pop("changes")
    assert merged_report == single_report
    # (the single run is the fan-out's baseline: the run history carries over, unchanged)
    assert changes["baseline"]["run_id"] == single["run_id"]
    assert (changes["new"], changes["resolved"]) == ([], [])
    assert summary["backups_scanned"] == single["backups_scanned"] == 6 * 2 * 2 + 1
    # and the run ends as a single run does: one email, the run's metrics
    [message] = inbox.messages()
    assert message["Subject"].startswith("[NON_COMPLIANT] 0 new, 0 resolved since ")
    assert message["Subject"].endswith(" - CloudHSM backups 6 accounts: 3 findings")
    assert emf_values(out)[("BackupsScanned", ())] == 25


def test_a_batch_that_never_wrote_its_partial_is_an_error_entry_for_each_of_its_accounts(
    organization: list[str], inbox: Inbox, capsys: Any
) -> None:
    # Given a fan-out whose second batch failed
    plan, summary, _ = run_state_machine(skip_batches=(1,))
    capsys.readouterr()
    # Then the run is INCOMPLETE, with one error entry per account of that batch
    items = read_json(plan["bucket"], plan["prefix"] + "accounts.json")
    lost = [item["account_id"] for item in items[2:4]]
    report = read_json(summary["report"])
    assert report["status"] == "INCOMPLETE"
    assert [(e["account_id"], e["operation"], e["code"]) for e in report["errors"]] == [
        (account, "AuditBatch", "NoPartialReport") for account in sorted(lost)
    ]
    assert not set(lost) & set(report["scope"]["accounts"])
    assert inbox.messages()[0]["Subject"].startswith("[INCOMPLETE]")


def test_a_map_stopped_past_its_tolerance_says_why_in_one_digest_line(
    organization: list[str], inbox: Inbox, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fan-out whose second and third batches failed, so the Map stopped past its
    # tolerance and its Catch handed the merge the error
    monkeypatch.setenv("FANOUT_BATCH_SIZE", str(BATCH_SIZE))
    error = {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": "The specified tolerated failure threshold was exceeded",
    }
    _, summary, _ = run_state_machine(skip_batches=(1, 2), batches_error=error)
    capsys.readouterr()
    # Then the report carries one error entry that says how many batches failed and why
    report = read_json(summary["report"])
    assert report["status"] == "INCOMPLETE"
    (stopped,) = [e for e in report["errors"] if e["operation"] == "Batches"]
    assert stopped["code"] == "States.ExceedToleratedFailureThreshold"
    assert stopped["message"] == (
        "the Distributed Map stopped: 2 of 3 batches failed; first error: "
        "States.ExceedToleratedFailureThreshold: "
        "The specified tolerated failure threshold was exceeded"
    )
    # beside one entry per account not audited
    assert sum(e["code"] == "NoPartialReport" for e in report["errors"]) == 4
    # and the digest shows it on one line
    (message,) = inbox.messages()
    lines = [line for line in message["Message"].splitlines() if "2 of 3 batches failed" in line]
    assert len(lines) == 1


def test_a_batch_handed_a_document_it_cannot_use_fails_with_one_line(
    organization: list[str],
) -> None:
    with pytest.raises(StepInputError) as raised:
        batch_handler({"Items": [{"role_arn": None}], "BatchInput": {}}, LocalContext())
    assert str(raised.value).startswith("batch: unexpected input: Items.0.account_id")


def test_a_failed_account_listing_is_an_error_entry_and_the_caller_is_still_audited(
    lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, inbox: Inbox, capsys: Any
) -> None:
    # Given organization mode in an account that belongs to no organization
    monkeypatch.setenv("ORGANIZATION", "true")
    # When the fan-out runs
    plan, summary, results = run_state_machine()
    capsys.readouterr()
    # Then the caller alone was planned and audited, and the report names the failed
    # listing: INCOMPLETE, never "no accounts, compliant"
    assert read_json(plan["bucket"], plan["work_list"]) == [
        {"account_id": DEFAULT_ACCOUNT, "role_arn": None}
    ]
    assert [r["accounts"] for r in results] == [1]
    report = read_json(summary["report"])
    assert report["status"] == "INCOMPLETE"
    assert [(e["account_id"], e["region"], e["operation"]) for e in report["errors"]] == [
        (DEFAULT_ACCOUNT, "global", "ListAccounts")
    ]
    assert report["scope"]["accounts"] == [DEFAULT_ACCOUNT]


def test_a_batch_item_whose_role_is_not_its_own_is_an_error_entry_never_another_audit(
    organization: list[str], inbox: Inbox, capsys: Any
) -> None:
    # Given a work list where member 1's item names member 4's role (member 4 holds a
    # never-expiring backup), member 2's item has no role (it would read the caller's
    # account), and one item names an account the plan never listed
    stranger = "999999999999"

    def tamper(items: list[dict]) -> None:
        by_account = {item["account_id"]: item for item in items}
        by_account[organization[1]]["role_arn"] = by_account[organization[4]]["role_arn"]
        by_account[organization[2]]["role_arn"] = None
        items.append({"account_id": stranger, "role_arn": None})

    # When the fan-out runs
    _, summary, _ = run_state_machine(tamper=tamper)
    capsys.readouterr()
    # Then each such item is an error entry for its own account, and none was audited
    report = read_json(summary["report"])
    assert report["status"] == "INCOMPLETE"
    refused = sorted(
        (e["account_id"], e["operation"], e["code"])
        for e in report["errors"]
        if e["code"] == "InvalidWorkItem"
    )
    assert refused == sorted(
        (account, "CheckWorkItem", "InvalidWorkItem")
        for account in (organization[1], organization[2], stranger)
    )
    messages = {e["account_id"]: e["message"] for e in report["errors"]}
    assert messages[organization[1]].endswith("is not in this account")
    assert messages[organization[2]].startswith("no role to assume")
    assert messages[stranger] == "the plan does not list this account"
    audited = set(report["scope"]["accounts"])
    assert not {organization[1], organization[2], stranger} & audited
    # and member 4's finding is reported once, for member 4 (its own batch)
    pinned = [f for f in report["findings"] if f["rule"] == "never-expires"]
    assert [f["account_id"] for f in pinned] == [organization[4]] * len(pinned)


def test_a_closed_member_is_named_with_its_state_in_the_merged_report(
    organization: list[str], inbox: Inbox, capsys: Any
) -> None:
    # Given member 2 closed (moto shows it SUSPENDED)
    boto3.client("organizations").close_account(AccountId=organization[2])
    # When the fan-out runs
    _, summary, _ = run_state_machine()
    capsys.readouterr()
    # Then it is not audited, and the report says why
    report = read_json(summary["report"])
    assert organization[2] not in report["scope"]["accounts"]
    assert report["scope"]["accounts_skipped"] == {organization[2]: "SUSPENDED"}


def test_listed_member_accounts_fan_out_through_the_plan(
    lambda_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    inbox: Inbox,
    capsys: Any,
    tmp_path: Any,
    wall_now: datetime,
) -> None:
    # Given fanOut=true with three memberAccounts (the asset's file, as the stack ships
    # it) and no organization, each member with a never-expiring backup
    members = ["111111111111", "222222222222", "333333333333"]
    for account_id in members:
        fleet = Fleet(account_id)
        ids = fleet.add_daily_backups(PRIMARY, fleet.add_cluster(PRIMARY), days=1, now=wall_now)
        fleet.backend(PRIMARY).backups[ids[0]].never_expires = True
    accounts_file = tmp_path / "member-accounts.json"
    accounts_file.write_text(json.dumps(members))
    monkeypatch.setenv("MEMBER_ACCOUNTS_FILE", str(accounts_file))
    monkeypatch.setenv("MEMBER_ROLE_NAME", "hsm-backup-audit-member")
    # When the fan-out runs
    plan, summary, results = run_state_machine()
    capsys.readouterr()
    # Then the plan's work list holds the caller and every listed member, by role
    items = read_json(plan["bucket"], plan["work_list"])
    assert [item["account_id"] for item in items] == [DEFAULT_ACCOUNT, *members]
    assert items[1]["role_arn"] == "arn:aws:iam::111111111111:role/hsm-backup-audit-member"
    assert [r["accounts"] for r in results] == [2, 2]
    # and the merged report covers them all, each member's finding included
    report = read_json(summary["report"])
    assert sorted(report["scope"]["accounts"]) == sorted([DEFAULT_ACCOUNT, *members])
    assert report["errors"] == []
    assert sorted({f["account_id"] for f in report["findings"]}) == members

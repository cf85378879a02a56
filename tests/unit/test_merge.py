"""Merging partial reports, on the pure engine: the merged report is the one-scan report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.merge import MergeError, Partial, merge, read_partial
from hsm_backup_audit.engine.partial import PartialAudit, partial_document, requested_accounts
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
REGION = "us-east-1"
OWNER, VIEWER, THIRD = "111111111111", "222222222222", "333333333333"


def backup(account: str, number: int, *, days: int = 1, never_expires: bool = False) -> dict:
    backup_id = f"backup-{account[:3]}{number:08d}"
    return {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{REGION}:{account}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": f"cluster-{account[:3]}aaaaaaaa",
        "CreateTimestamp": NOW - timedelta(days=days),
        "NeverExpires": never_expires,
        "Mode": "FIPS",
        "HsmType": "hsm2m.medium",
    }


def cluster(account: str, retention: int = 90) -> dict:
    return {
        "ClusterId": f"cluster-{account[:3]}aaaaaaaa",
        "State": "ACTIVE",
        "CreateTimestamp": NOW - timedelta(days=400),
        "BackupRetentionPolicy": {"Type": "DAYS", "Value": str(retention)},
    }


# What each account lists: its clusters, its own backups, the backups shared with it.
# The owner's second backup (200 days old) is shared with the viewer and the third.
OWNED_SHARED = backup(OWNER, 2, days=200)
FLEET: dict[str, dict[str, list[dict]]] = {
    OWNER: {
        "clusters": [cluster(OWNER, retention=30)],
        "owned": [backup(OWNER, 1), OWNED_SHARED],
        "shared": [],
    },
    VIEWER: {
        "clusters": [cluster(VIEWER)],
        "owned": [backup(VIEWER, 1), backup(VIEWER, 2, days=3)],
        "shared": [OWNED_SHARED],
    },
    THIRD: {"clusters": [], "owned": [], "shared": [OWNED_SHARED]},
}


def fold(audit: Audit, accounts: Sequence[str], fleet: dict[str, dict[str, list[dict]]]) -> None:
    """Feed as the scanner may: each region's clusters first, shared listings answering
    before owned ones (the engine's result does not depend on it)."""
    for account in accounts:
        audit.add_clusters(account, REGION, fleet[account]["clusters"])
    for account in reversed(accounts):
        audit.add_backups(account, REGION, True, fleet[account]["shared"])
    for account in accounts:
        audit.add_backups(account, REGION, False, fleet[account]["owned"])


def scope(accounts: Sequence[str], policy: Policy) -> Scope:
    return Scope((REGION,), accounts[0], tuple(accounts), policy.include_shared)


def one_scan(accounts: Sequence[str], policy: Policy, fleet: dict = FLEET) -> dict[str, Any]:
    audit = Audit(policy, NOW)
    fold(audit, accounts, fleet)
    return to_document(audit.finish(scope(accounts, policy)))


def partial_of(accounts: Sequence[str], policy: Policy, fleet: dict = FLEET) -> dict[str, Any]:
    """A batch's partial report, through JSON as it travels."""
    audit = PartialAudit(policy, NOW)
    fold(audit, accounts, fleet)
    report = audit.finish(scope(accounts, policy))
    document = partial_document(report, audit.partial_info(report, requested_accounts(report)))
    return json.loads(json.dumps(document, default=str))


def read(*documents: dict[str, Any]) -> list[Partial]:
    return [read_partial(document, f"part{n}.json") for n, document in enumerate(documents)]


def merged(*documents: dict[str, Any], planned: Sequence[str] = ()) -> dict[str, Any]:
    return to_document(merge(read(*documents), planned_accounts=planned).report)


@pytest.mark.parametrize(
    "batches",
    [
        [[OWNER], [VIEWER], [THIRD]],
        [[OWNER, VIEWER], [THIRD]],
        [[OWNER], [VIEWER, THIRD]],
        [[OWNER, THIRD], [VIEWER]],
        [[OWNER, VIEWER, THIRD]],
    ],
)
def test_any_split_merges_to_the_one_scan_report_with_the_owner_view_of_a_shared_backup(
    batches: list[list[str]],
) -> None:
    # Given a backup owned by one account and shared with two others, in any batches
    policy = Policy()
    everyone = [OWNER, VIEWER, THIRD]
    # When each batch is scanned alone and the partials are merged
    document = merged(*(partial_of(batch, policy) for batch in batches), planned=everyone)
    # Then the result is the one-scan report: the shared backup counted once, as the owner's
    single = one_scan(everyone, policy)
    assert document == single
    assert document["summary"]["backups_scanned"] == 4
    shared = [f for f in document["findings"] if f["backup_id"] == OWNED_SHARED["BackupId"]]
    assert {(f["account_id"], f["shared"]) for f in shared} == {(OWNER, False)}
    assert "overdue" in {f["rule"] for f in shared}, "judged by the owner's 30-day retention"


def test_a_shared_backup_whose_owner_is_not_audited_is_counted_once_from_the_lowest_view() -> None:
    # Given two viewers of one backup whose owner is outside the audit, in two batches
    policy = Policy()
    # When they are merged, in either order
    document = merged(partial_of([THIRD], policy), partial_of([VIEWER], policy))
    assert merged(partial_of([VIEWER], policy), partial_of([THIRD], policy)) == document
    # Then it is one backup, seen as shared by the lowest account, as one scan sees it
    # (without a plan, the accounts are in the order of their ids, whatever the files' order)
    assert document == one_scan([VIEWER, THIRD], policy)
    by_account = document["summary"]["by_account"]
    assert (by_account[VIEWER]["backups_scanned"], by_account[THIRD]["backups_scanned"]) == (3, 0)


def test_an_account_without_a_partial_is_an_error_entry_and_the_run_incomplete() -> None:
    # Given a plan of three accounts whose third batch never wrote its partial
    policy = Policy()
    # When the two partials that exist are merged against the plan
    document = merged(
        partial_of([OWNER], policy), partial_of([VIEWER], policy), planned=[OWNER, VIEWER, THIRD]
    )
    # Then the missing account is an error entry, and the audit says INCOMPLETE
    assert document["status"] == Status.INCOMPLETE
    assert [(e["account_id"], e["region"], e["code"]) for e in document["errors"]] == [
        (THIRD, "global", "NoPartialReport")
    ]
    assert document["scope"]["accounts"] == [OWNER, VIEWER]


def test_a_cell_in_two_partials_counts_once() -> None:
    # Given two shards that both read the owner's account (the caller's own, say)
    policy = Policy()
    # When merged
    document = merged(partial_of([OWNER, VIEWER], policy), partial_of([OWNER, THIRD], policy))
    # Then it is as if each account was read once, and the overlap is noted
    assert document["coverage"].pop("overlaps") == [{"account_id": OWNER, "region": REGION}]
    assert document == one_scan([OWNER, VIEWER, THIRD], policy)


def test_merging_merged_partials_gives_the_same_report() -> None:
    # Given three single-account partials
    policy = Policy()
    parts = [partial_of([account], policy) for account in (OWNER, VIEWER, THIRD)]
    # When two are merged into a partial, then merged with the third
    inner = merge(read(parts[1], parts[2]))
    inner_document = json.loads(json.dumps(partial_document(inner.report, inner.info)))
    # Then it is the same as merging all three at once
    assert merged(parts[0], inner_document) == merged(*parts)


def test_partials_judged_under_different_policies_are_refused() -> None:
    one = partial_of([OWNER], Policy())
    other = partial_of([VIEWER], Policy(allow_never_expires=True))
    with pytest.raises(MergeError, match=r"part1\.json: judged under another policy"):
        merged(one, other)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a report"),
        ({"schema_version": 2}, "not a schema_version 1 report"),
        ("FULL", "not a partial one"),
        ("BROKEN", "not a partial report: partial.cells"),
    ],
)
def test_input_that_is_not_a_partial_report_is_refused_in_one_line(
    document: Any, message: str
) -> None:
    if document == "FULL":
        document = one_scan([OWNER], Policy())
    elif document == "BROKEN":
        document = partial_of([OWNER], Policy())
        document["partial"]["cells"] = "nope"
    with pytest.raises(MergeError, match=message) as caught:
        read_partial(document, "x.json")
    assert "\n" not in str(caught.value)


def test_a_partial_report_is_a_schema_version_1_report_with_its_partial_key() -> None:
    # Given a partial with a shared-only view, owned identities and backup keys
    document = partial_of([VIEWER, THIRD], Policy())
    # Then the report schema (keys only added within version 1) describes it whole
    schema = json.loads((files("hsm_backup_audit") / "report.schema.json").read_text())
    Draft202012Validator(schema).validate(document)
    assert document["partial"]["shared_only"] and document["partial"]["cells"]


def test_the_accounts_skipped_for_their_state_carry_over_in_any_order() -> None:
    # Given two partials of an organization scan, each naming a closed account
    policy = Policy()
    first, second = partial_of([OWNER], policy), partial_of([VIEWER], policy)
    first["scope"]["accounts_skipped"] = {"999999999991": "SUSPENDED"}
    second["scope"]["accounts_skipped"] = {"999999999992": "PENDING_CLOSURE"}
    # When merged, either way round
    expected = {"999999999991": "SUSPENDED", "999999999992": "PENDING_CLOSURE"}
    for parts in ((first, second), (second, first)):
        document = merged(*parts)
        # Then the merged report names both, with their state
        assert document["scope"]["accounts_skipped"] == expected

"""Merge decides only over the cells its parts read: the product of the accounts and regions
they name, each cell no part read an error entry; parts that contradict themselves are
refused; and the order of the files never changes the answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode, Status
from hsm_backup_audit.engine.audit import Scope
from hsm_backup_audit.engine.merge import MergeError, merge, read_partial
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.partial import PartialAudit, partial_document, requested_accounts
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
EAST, WEST = "us-east-1", "eu-west-1"
ONE, TWO = "111111111111", "222222222222"


def backup(account: str, region: str, number: int, *, never_expires: bool = False) -> dict:
    backup_id = f"backup-{account[:3]}{region[:2]}{number:06d}"
    return {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{region}:{account}:backup/{backup_id}",
        "BackupState": "READY",
        "ClusterId": f"cluster-{account[:3]}{region[:2]}aaaaaa",
        "CreateTimestamp": NOW - timedelta(days=1),
        "NeverExpires": never_expires,
        "Mode": "FIPS",
        "HsmType": "hsm2m.medium",
    }


def partial(
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    pinned: bool = True,
    at: datetime = NOW,
    errors: Sequence[ScanError] = (),
    not_enabled: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> dict[str, Any]:
    """A batch's partial report through JSON: one backup per cell, pinned or not."""
    audit = PartialAudit(Policy(), at)
    for account in accounts:
        for region in regions:
            audit.add_backups(
                account, region, False, [backup(account, region, 1, never_expires=pinned)]
            )
    for error in errors:
        audit.add_error(error)
    scope = Scope(
        tuple(regions), accounts[0], tuple(accounts), True, regions_not_enabled=not_enabled
    )
    report = audit.finish(scope)
    document = partial_document(report, audit.partial_info(report, requested_accounts(report)))
    return json.loads(json.dumps(document, default=str))


def merged(*documents: dict[str, Any], planned: Sequence[str] = ()) -> dict[str, Any]:
    parts = [read_partial(d, f"part{n}.json") for n, d in enumerate(documents)]
    return to_document(merge(parts, planned_accounts=planned).report)


def test_shards_split_by_account_and_region_name_every_cell_no_shard_read() -> None:
    # Given one shard of ONE in EAST and one of TWO in WEST, both compliant
    east = partial([ONE], [EAST], pinned=False)
    west = partial([TWO], [WEST], pinned=False)
    # When merged
    document = merged(east, west)
    # Then the product's other cells (ONE in WEST, TWO in EAST) are errors: INCOMPLETE
    assert document["status"] == Status.INCOMPLETE
    unread = {(c["account_id"], c["region"]) for c in document["coverage"]["not_read"]}
    assert unread == {(ONE, WEST), (TWO, EAST)}
    assert {(e["account_id"], e["region"], e["code"]) for e in document["errors"]} == {
        (ONE, WEST, "NotRead"),
        (TWO, EAST, "NotRead"),
    }


def test_a_parts_incomplete_status_and_errors_carry_over() -> None:
    denied = ScanError(ONE, WEST, "DescribeBackups", "AccessDenied", "denied", "owned")
    document = merged(partial([ONE], [EAST, WEST], pinned=False, errors=[denied]))
    assert document["status"] == Status.INCOMPLETE
    assert [e["code"] for e in document["errors"]] == ["AccessDenied"]
    assert {"account_id": ONE, "region": WEST, "listing": "owned"} not in document["coverage"][
        "read"
    ]


def test_merge_keeps_the_regions_not_enabled() -> None:
    document = merged(partial([ONE], [EAST], not_enabled=((ONE, (WEST,)),)))
    assert document["scope"]["regions_not_enabled"] == {ONE: [WEST]}


def test_a_merge_with_no_partial_names_the_planned_accounts() -> None:
    empty = Scope((EAST,), "unknown", (), True)
    report = merge([], planned_accounts=[ONE, TWO], empty_scope=empty).report
    assert report.scope.account_id == ONE
    assert report.scope.accounts == (ONE, TWO)
    assert report.status is Status.INCOMPLETE


def test_where_two_parts_read_one_cell_the_newer_read_wins_in_either_order() -> None:
    # Given an older read of ONE with its pinned backup and a newer one after the fix
    older = partial([ONE], [EAST], pinned=True, at=NOW - timedelta(hours=1))
    newer = partial([ONE], [EAST], pinned=False, at=NOW)
    # Then the newer read is taken whichever file comes first, and the overlap is noted
    for documents in ((older, newer), (newer, older)):
        document = merged(*documents)
        assert document["findings"] == []
        assert document["coverage"]["overlaps"] == [{"account_id": ONE, "region": EAST}]


def refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any]) -> str:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(partial([TWO], [EAST])))
    bad.write_text(json.dumps(document))
    assert main(["merge", str(good), str(bad)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err
    return err


def test_a_part_claiming_incomplete_without_an_error_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = partial([ONE], [EAST])
    document["status"] = "INCOMPLETE"
    assert "INCOMPLETE without an error entry" in refuse(tmp_path, capsys, document)


def test_a_part_holding_a_finding_outside_its_cells_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = partial([ONE], [EAST])
    document["findings"][0]["region"] = WEST  # a cell the part never read nor named
    assert "a cell the part did not read" in refuse(tmp_path, capsys, document)
    with pytest.raises(MergeError, match=r"part0\.json: refused"):
        merged(document)


SPLITS = st.lists(
    st.tuples(
        st.sets(st.sampled_from([ONE, TWO]), min_size=1),
        st.sets(st.sampled_from([EAST, WEST]), min_size=1),
        st.booleans(),  # pinned
        st.integers(0, 2),  # hours before NOW
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(SPLITS, st.randoms(use_true_random=False))
def test_merge_does_not_depend_on_the_order_of_the_parts(splits: list, rng: Any) -> None:
    # Given any parts, overlapping or not, read at various times
    documents = [
        partial(sorted(accounts), sorted(regions), pinned=pinned, at=NOW - timedelta(hours=hours))
        for accounts, regions, pinned, hours in splits
    ]
    shuffled = list(documents)
    rng.shuffle(shuffled)
    # Then merging them in any order gives the same report
    assert merged(*shuffled) == merged(*documents)

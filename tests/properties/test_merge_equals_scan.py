"""Any split of a fleet into batches, each scanned alone and merged, gives the report of
one scan of the whole fleet: on moto, through the real scanner, with backups shared
across accounts (and from an account outside the audit) landing in different batches.

The case the merge exists for is steered to, not left to chance: every drawn fleet holds a
backup from outside shared into two audited accounts in different batches (which view the
merge keeps), and the explicit example adds a member's backup shared into a member in
another batch (the owner's view wins), both read with include_shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from hypothesis import example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.engine.merge import merge, read_partial
from hsm_backup_audit.engine.partial import PartialRecorder, partial_document
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.sharing import honour_shared, share

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
MEMBERS = ("111111111111", "222222222222", "333333333333")
OUTSIDER = "999999999999"  # owns backups shared into the fleet; never audited
REGIONS = (PRIMARY, SECONDARY)

backup: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "owner": st.integers(0, len(MEMBERS) + 1),  # the last index is the outsider
        "region": st.sampled_from(REGIONS),
        "age_days": st.integers(0, 120),
        "never_expires": st.booleans(),
        "mode": st.sampled_from(["FIPS", "FIPS", "NON_FIPS"]),
    }
)


@st.composite
def fleets(draw: st.DrawFn) -> dict[str, Any]:
    accounts = [DEFAULT_ACCOUNT, *MEMBERS[: draw(st.integers(1, len(MEMBERS)))]]
    backups = draw(st.lists(backup, min_size=1, max_size=8))
    owners = [*accounts, OUTSIDER]
    for item in backups:
        item["owner"] = owners[item["owner"] % len(owners)]
    shares = draw(
        st.lists(st.tuples(st.integers(0, len(backups) - 1), st.sampled_from(accounts)), max_size=5)
    )
    batch_of = draw(st.lists(st.integers(0, 2), min_size=len(accounts), max_size=len(accounts)))
    # The steered case: one more backup from outside, shared into two audited accounts
    # that land in different batches.
    first, second = draw(st.permutations(range(len(accounts))))[:2]
    if batch_of[first] == batch_of[second]:
        batch_of[second] = (batch_of[first] + 1) % 3
    outside = draw(backup) | {"owner": OUTSIDER}
    backups.append(outside)
    shares += [(len(backups) - 1, accounts[first]), (len(backups) - 1, accounts[second])]
    return {
        "accounts": accounts,
        "backups": backups,
        "shares": [(n, viewer) for n, viewer in shares if backups[n]["owner"] != viewer],
        "retention": draw(st.sampled_from([7, 30, 90])),
        "batch_of": batch_of,
        "include_shared": draw(st.sampled_from([True, True, True, False])),
    }


def _backup(owner: str, age_days: int, never_expires: bool, mode: str) -> dict[str, Any]:
    fields = {"age_days": age_days, "never_expires": never_expires, "mode": mode}
    return {"owner": owner, "region": PRIMARY, **fields}


# Both merge decisions in one fleet, each account in its own batch: the outsider's backup
# (a finding) is shared into two members, the first member's backup into the second.
BOTH_DECISIONS = {
    "accounts": [DEFAULT_ACCOUNT, MEMBERS[0], MEMBERS[1]],
    "backups": [_backup(OUTSIDER, 3, True, "NON_FIPS"), _backup(MEMBERS[0], 2, False, "FIPS")],
    "shares": [(0, MEMBERS[1]), (0, MEMBERS[0]), (1, MEMBERS[1])],
    "retention": 30,
    "batch_of": [0, 1, 2],
    "include_shared": True,
}


def _seed(fleet: dict[str, Any]) -> None:
    # A seed per account: the same seed would give two accounts the same backup ids.
    handles = {a: Fleet(a, seed=int(a)) for a in [*fleet["accounts"], OUTSIDER]}
    clusters = {
        (a, r): handles[a].add_cluster(r, retention_days=fleet["retention"])
        for a in handles
        for r in REGIONS
    }
    ids = []
    for item in fleet["backups"]:
        owner, region = item["owner"], item["region"]
        ids.append(
            handles[owner].add_backup(
                region,
                clusters[(owner, region)],
                created=NOW - timedelta(days=item["age_days"], hours=1),
                never_expires=item["never_expires"],
                mode=item["mode"],
            )
        )
    for number, viewer in fleet["shares"]:
        item = fleet["backups"][number]
        share(item["owner"], item["region"], ids[number], viewer)


def _request(policy: Policy, members: list[str], **fields: object) -> ScanRequest:
    roles = [f"arn:aws:iam::{m}:role/hsm-backup-audit-member" for m in members]
    return ScanRequest(
        regions=REGIONS,
        policy=policy,
        role_arns=roles,
        now=NOW,
        session=boto3.session.Session(region_name=PRIMARY),
        **fields,  # type: ignore[arg-type]
    )


@settings(max_examples=12, deadline=None)  # about 1 s an example (moto, 2-4 scans)
@given(fleet=fleets())
@example(fleet=BOTH_DECISIONS)
def test_merged_batches_equal_one_scan_of_the_whole_fleet(fleet: dict[str, Any]) -> None:
    accounts, policy = fleet["accounts"], Policy(include_shared=fleet["include_shared"])
    with mock_aws(), honour_shared():
        _seed(fleet)
        # one scan of every account
        single = to_document(scan(_request(policy, accounts[1:])))
        # and each batch alone, its partial report through JSON as it travels
        partials = []
        for batch in sorted(set(fleet["batch_of"])):
            mine = [a for a, b in zip(accounts, fleet["batch_of"], strict=True) if b == batch]
            recorder = PartialRecorder()
            report = scan(
                _request(
                    policy,
                    [a for a in mine if a != DEFAULT_ACCOUNT],
                    include_caller=DEFAULT_ACCOUNT in mine,
                    audit_factory=recorder,
                )
            )
            document = json.loads(
                json.dumps(partial_document(report, recorder.partial_info(report, mine)))
            )
            partials.append(read_partial(document, f"batch-{batch}.json"))
    merged = to_document(merge(partials, planned_accounts=accounts).report)
    assert merged == single

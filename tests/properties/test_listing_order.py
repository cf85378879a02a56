"""The report does not depend on the order the listings answer in (issue 9): random fleets over
two audited accounts, some backups shared with the other one, pages interleaved at random."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

from .strategies import CLUSTERS, HSM_TYPES, NOW, REGIONS, STATES

ACCOUNTS = ("111111111111", "222222222222")
Listing = tuple[str, str, str, list[list[Any]]]  # kind, account, region, pages


@st.composite
def owned_backup(draw: st.DrawFn, index: int) -> dict[str, Any]:
    owner, region = draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(REGIONS))
    backup_id = f"backup-{index:011d}"
    item: dict[str, Any] = {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{region}:{owner}:backup/{backup_id}",
        "CreateTimestamp": NOW - timedelta(hours=draw(st.integers(-10, 3 * 365 * 24))),
    }
    item |= draw(
        st.fixed_dictionaries(
            {},
            optional={
                "BackupState": st.sampled_from([*STATES, "READY ", "DELETED\u200b"]),
                "ClusterId": st.sampled_from(CLUSTERS),
                "NeverExpires": st.booleans(),
                "Mode": st.sampled_from(["FIPS", "NON_FIPS", "FIPS\u200b"]),
                "HsmType": st.sampled_from(HSM_TYPES),
                "SourceRegion": st.just("us-west-2"),
            },
        )
    )
    if draw(st.integers(0, 9)) == 0:  # now and then, a backup nothing identifies
        del item["BackupId"], item["BackupArn"]
    shared = draw(st.booleans()) and "BackupArn" in item
    return {"owner": owner, "region": region, "item": item, "shared": shared}


@st.composite
def estates(draw: st.DrawFn) -> list[Listing]:
    """Every (account, region): a cluster listing, an owned and a shared backup listing."""
    backups = [draw(owned_backup(i)) for i in range(draw(st.integers(0, 30)))]
    listings: list[Listing] = []
    for account in ACCOUNTS:
        for region in REGIONS:
            clusters = [
                {
                    "ClusterId": cluster_id,
                    "State": "ACTIVE",
                    "CreateTimestamp": NOW - timedelta(days=400),
                    "BackupRetentionPolicy": {"Type": "DAYS", "Value": str(days)},
                }
                for cluster_id, days in draw(
                    st.dictionaries(st.sampled_from(CLUSTERS), st.integers(7, 379), max_size=3)
                ).items()
            ]
            here = [b for b in backups if b["region"] == region]
            owned = [b["item"] for b in here if b["owner"] == account]
            shared = [b["item"] for b in here if b["owner"] != account and b["shared"]]
            listings.append(("clusters", account, region, [clusters]))
            for kind, items in (("owned", owned), ("shared", shared)):
                size = draw(st.integers(1, 5))
                pages = [items[i : i + size] for i in range(0, len(items), size)]
                listings.append((kind, account, region, pages))
    return listings


def fold(listings: list[Listing], rng: random.Random | None) -> dict[str, Any]:
    """Clusters first (the scanner holds backups until their region's clusters are in),
    then backup pages: in listing order, or interleaved at random (each listing in order)."""
    audit = Audit(Policy(), NOW)
    for _, account, region, pages in (lst for lst in listings if lst[0] == "clusters"):
        audit.add_clusters(account, region, pages[0])
    queues: list[list[Any]] = [[lst, 0] for lst in listings if lst[0] != "clusters" and lst[3]]
    while queues:
        entry = queues[rng.randrange(len(queues))] if rng else queues[0]
        (kind, account, region, pages), at = entry
        audit.add_backups(account, region, kind == "shared", pages[at])
        entry[1] = at + 1
        if entry[1] == len(pages):
            queues.remove(entry)
    return to_document(audit.finish(Scope(REGIONS, ACCOUNTS[0], ACCOUNTS, True)))


@settings(max_examples=60, deadline=None)
@given(estates(), st.randoms(use_true_random=False))
def test_the_report_does_not_depend_on_the_order_listings_answer_in(
    listings: list[Listing], rng: random.Random
) -> None:
    # Given two audited accounts whose backups are partly shared with each other
    # When the listings' pages arrive in listing order, and interleaved at random
    in_order, shuffled = fold(listings, None), fold(listings, rng)
    # Then the two reports are the same: findings, counts, status
    assert shuffled == in_order
    # And every shared backup is reported as its owner's: never as shared
    assert not any(finding["shared"] for finding in in_order["findings"])
    owned = sum(len(page) for kind, *_, pages in listings if kind == "owned" for page in pages)
    assert in_order["summary"]["backups_scanned"] == owned

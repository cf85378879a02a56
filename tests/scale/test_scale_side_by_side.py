"""Listings run side by side on a bounded pool, and the report does not depend on which
answer arrives first. Timing is asserted with wide margins, on overlap rather than speed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.fleet import seed_demo_fleet
from hsm_backup_audit_demo.server import Call, Fault, FleetServer

MEMBER = "111111111111"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-reader"
REGIONS = [PRIMARY, SECONDARY]


def listing_calls(server: FleetServer) -> list[Call]:
    return [c for c in server.layer.calls if c.operation.startswith("Describe")]


def small_estate(now: datetime) -> None:
    """Two accounts x two regions, one page per listing: 12 listings."""
    for account in (Fleet(), Fleet(MEMBER)):
        for region in REGIONS:
            cluster = account.add_cluster(region, retention_days=30)
            account.add_daily_backups(region, cluster, days=3, now=now)


def request(url: str, now: datetime, **overrides: Any) -> ScanRequest:
    fields: dict[str, Any] = {
        "regions": REGIONS,
        "policy": Policy(),
        "role_arns": [MEMBER_ROLE],
        "endpoint_url": url,
        "now": now,
    }
    return ScanRequest(**{**fields, **overrides})


def test_listings_overlap_instead_of_running_one_after_another(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given 12 one-page listings and 0.5 s per call (long beside the jitter of a busy machine)
    url, _ = server_fleet
    small_estate(now)
    latency = 0.5
    fleet_server.layer.latency = latency
    # When they are scanned with the default pool
    report = scan(request(url, now))
    # Then every backup is there, and the listings' calls came in together, not in turn
    assert report.backups_scanned == 12
    calls = listing_calls(fleet_server)
    assert len(calls) == 12
    first = min(c.at for c in calls)
    assert sum(c.at < first + latency for c in calls) >= 8
    # And the whole run, STS calls included, took far less than the calls one by one
    sequential = latency * len(fleet_server.layer.calls)
    assert report.duration_seconds < 0.6 * sequential


def test_the_pool_is_bounded_by_max_workers(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given 12 one-page listings and 0.1 s per call
    url, _ = server_fleet
    small_estate(now)
    latency = 0.1
    fleet_server.layer.latency = latency
    # When they are scanned with two workers
    report = scan(request(url, now, max_workers=2))
    # Then all are read, yet never more than two calls arrive within one call's latency
    assert report.backups_scanned == 12
    starts = sorted(c.at for c in listing_calls(fleet_server))
    assert len(starts) == 12
    assert max(sum(s <= t < s + 0.8 * latency for t in starts) for s in starts) <= 2


def scan_document(url: str, now: datetime, **overrides: Any) -> dict[str, Any]:
    document = to_document(scan(request(url, now, **overrides)))
    document.pop("generated_at")
    return document


def test_the_report_is_the_same_whatever_order_the_answers_arrive_in(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given the demo estate (every kind of finding, a cross-region copy) in two accounts
    url, _ = server_fleet
    seed_demo_fleet(now)
    member = seed_demo_fleet(now, account_id=MEMBER)
    cluster = member.add_cluster(PRIMARY, retention_days=14)
    member.add_backup(PRIMARY, cluster, created=now - timedelta(days=1))
    member.add_backup(PRIMARY, cluster, created=now - timedelta(days=1))  # same moment
    layer = fleet_server.layer
    slow = 0.04

    def is_shared(call: Call) -> bool:
        return call.params.get("Shared") is True

    def is_member(call: Call) -> bool:
        return call.access_key != "testing"

    orders = [
        [
            Fault("hang", region=PRIMARY, hang_seconds=slow),
            Fault("hang", when=is_shared, hang_seconds=slow),
        ],
        [
            Fault("hang", operation="DescribeClusters", hang_seconds=3 * slow),
            Fault("hang", region=SECONDARY, hang_seconds=slow),
        ],
        [
            Fault("hang", when=is_member, hang_seconds=slow),
            Fault("hang", when=lambda call: not is_shared(call), hang_seconds=slow),
        ],
    ]
    # When the same estate is scanned with one part or another answering late, and once
    # with a single worker (every listing in turn)
    documents = []
    for faults in orders:
        layer.faults = faults
        documents.append(scan_document(url, now))
    layer.faults = []
    documents.append(scan_document(url, now, max_workers=1))
    # Then every report is the same document, and it is a full one
    assert all(document == documents[0] for document in documents[1:])
    assert documents[0]["status"] == "NON_COMPLIANT"
    assert set(documents[0]["summary"]["by_account"]) == {"123456789012", MEMBER}
    assert {"never-expires", "overdue", "stale-cluster"} <= set(documents[0]["summary"]["by_rule"])


def test_every_seventh_call_throttled_still_counts_every_backup(
    server_fleet: tuple[str, Fleet], fleet_server: FleetServer, now: datetime
) -> None:
    # Given two accounts x two regions of 120 backups each (3 pages a listing)
    url, _ = server_fleet
    for account in (Fleet(), Fleet(MEMBER)):
        for region in REGIONS:
            cluster = account.add_cluster(region, retention_days=379)
            account.add_daily_backups(region, cluster, days=120, now=now)
    # And every 7th call to the CloudHSM API throttled
    throttle = Fault("throttle", when=lambda call: call.operation.startswith("Describe"), every=7)
    fleet_server.layer.faults.append(throttle)
    # When the estate is scanned
    report = scan(request(url, now))
    # Then throttling was retried away: complete, every backup counted once
    assert throttle.fired >= 4
    assert report.errors == []
    assert report.status == "COMPLIANT"
    assert report.backups_scanned == 480
    assert report.by_account == {"123456789012": 240, MEMBER: 240}
    # And no call, retries included, asked for more than the API allows
    for call in listing_calls(fleet_server):
        limit = 50 if call.operation == "DescribeBackups" else 25
        assert call.params["MaxResults"] == limit

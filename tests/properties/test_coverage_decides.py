"""Through the real scanner and the fault endpoints: for any set of cells made unreadable
(denied, hung past the run's deadline, region not enabled) and any baseline, no finding in
an unread cell is RESOLVED or archived, and a run that could not read a cell it was asked
to read is never COMPLIANT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import Deadline, ScanRequest, scan
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.asff import run_documents
from hsm_backup_audit.engine.changes import compute_changes, to_archive
from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Call, Fault, FleetServer, describe_regions_answer

MEMBER = "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
ACCOUNTS = (DEFAULT_ACCOUNT, MEMBER)
REGIONS = (PRIMARY, SECONDARY)
LISTINGS = ("clusters", "owned")
LIMITS = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=2)
NOW = datetime.now(UTC).replace(microsecond=0)
_baseline: dict[str, Any] = {}

cells = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS), st.sampled_from(LISTINGS))
unreadable = st.dictionaries(cells, st.sampled_from(["deny"] * 4 + ["hang"]), max_size=4)
not_enabled = st.sets(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS)), max_size=2)
ghosts = st.sets(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS)), max_size=4)


def of(account: str) -> Any:
    """Calls made with this account's credentials (the caller's are the test's own)."""
    return lambda call: (call.access_key == "testing") == (account == DEFAULT_ACCOUNT)


def fault(account: str, region: str, listing: str, action: str) -> Fault:
    operation = "DescribeClusters" if listing == "clusters" else "DescribeBackups"

    def when(call: Call) -> bool:
        return of(account)(call) and not call.params.get("Shared")

    return Fault(action, operation=operation, region=region, when=when, hang_seconds=3.0)


def regions_for(account: str, skipped: set[tuple[str, str]]) -> Fault:
    statuses = {r: "opt-in-not-required" for r in REGIONS if (account, r) not in skipped}
    answer = describe_regions_answer(statuses)
    return Fault("reply", operation="DescribeRegions", when=of(account), reply=answer)


def seed() -> None:
    """Each account: in each region a cluster, two fresh backups and a pinned one."""
    for account in ACCOUNTS:
        fleet = Fleet(account)
        for region in REGIONS:
            cluster = fleet.add_cluster(region, retention_days=379)
            fleet.add_daily_backups(region, cluster, days=2, now=NOW)
            fleet.add_backup(region, cluster, created=NOW - timedelta(days=1), never_expires=True)


def run(url: str, deadline: float | None) -> Any:
    stop = Deadline(deadline).should_stop if deadline else (lambda: False)
    return scan(
        ScanRequest(
            regions=["all"],
            policy=Policy(include_shared=False),
            endpoint_url=url,
            role_arns=[ROLE],
            home_region=PRIMARY,
            now=NOW,
            limits=LIMITS,
            should_stop=stop,
        )
    )


def ghost(account: str, region: str) -> dict[str, Any]:
    """A baseline finding about a backup that is gone: RESOLVED wherever its cell is read."""
    backup_id = f"backup-ghost{region[:2]}{account[:3]}"
    return {
        "id": finding_id("never-expires", account, region, "cluster-ghost", backup_id),
        "rule": "never-expires",
        "severity": "MEDIUM",
        "account_id": account,
        "region": region,
        "cluster_id": "cluster-ghost",
        "backup_id": backup_id,
        "shared": False,
        "message": "pinned",
        "first_seen": "2026-11-01T00:00:00Z",
    }


# Each example is a real scan over HTTP: no shrinking (the failing example is printed whole).
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(faults=unreadable, skipped=not_enabled, gone=ghosts)
def test_no_finding_in_an_unread_cell_is_resolved_or_archived(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    faults: dict[tuple[str, str, str], str],
    skipped: set[tuple[str, str]],
    gone: set[tuple[str, str]],
) -> None:
    url, _ = server_fleet
    layer = fleet_server.layer
    if not _baseline.get(url):  # one clean run of the whole fleet: the baseline's findings
        seed()
        layer.faults = [regions_for(a, set()) for a in ACCOUNTS]
        first = run(url, None)
        assert first.status is Status.NON_COMPLIANT and len(first.findings) == 4
        _baseline[url] = to_document(first)
    # Given a baseline (the clean run and ghosts of deleted backups), and cells made unreadable
    baseline = dict(_baseline[url])
    baseline["findings"] = [*baseline["findings"], *(ghost(*cell) for cell in sorted(gone))]
    layer.faults = [fault(*cell, action) for cell, action in faults.items()]
    layer.faults += [regions_for(account, skipped) for account in ACCOUNTS]
    # When the scanner runs (under a deadline when a listing hangs)
    report = run(url, 1.5 if "hang" in faults.values() else None)
    changes = compute_changes(report, baseline, Policy(include_shared=False))
    # Then no baseline finding in an unread cell is resolved, nor archived (every finding
    # here is about an owned backup: its cell is the owned listing of its account and region)
    unread = {(a, r) for a, r, listing in faults if listing == "owned"} | skipped
    resolved = {(r.account_id, r.region) for r in changes.resolved}
    assert not resolved & unread
    archived = run_documents(
        [], to_archive(changes), first_seen={}, observed_at=NOW, partition_of=lambda _: "aws"
    )
    places = {(d["AwsAccountId"], d["Resources"][0]["Region"]) for d in archived}
    assert not places & unread
    found = {f.id for f in report.findings}
    assert {r.id for r in changes.not_checked} >= {
        f["id"]
        for f in baseline["findings"]
        if (f["account_id"], f["region"]) in unread and f["id"] not in found
    }
    # And a run that could not read a cell it was asked to is never COMPLIANT
    if any(cell[:2] not in skipped for cell in faults):
        assert report.status is Status.INCOMPLETE
    # While, with no deadline cut, a ghost in a cell read is resolved (not a vacuous property)
    if "hang" not in faults.values():
        assert {cell for cell in gone if cell not in unread} <= resolved | {
            (f.account_id, f.region)
            for f in report.findings
            if (f.backup_id or "").startswith("backup-ghost")
        }

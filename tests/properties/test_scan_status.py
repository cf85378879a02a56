"""Through the real scanner and a moto server: INCOMPLETE exactly when a listing failed,
whatever was found; else NON_COMPLIANT exactly when a finding is above INFO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import Severity, Status
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

REGIONS = (PRIMARY, SECONDARY)
OPERATIONS = ("DescribeClusters", "DescribeBackups")
LIMITS = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=2)
# A failed listing: denied, or throttled on every attempt (as the other fault tests do).
failed_listings = st.dictionaries(
    st.tuples(st.sampled_from(REGIONS), st.sampled_from(OPERATIONS)),
    st.sampled_from(["deny", "deny", "deny", "deny", "throttle"]),  # a throttle waits to retry
)
# A backup with a problem: HIGH (never expires, NON_FIPS) or INFO only (pending deletion).
ABOVE_INFO = ("never_expires", "non_fips")
problems = st.sets(st.tuples(st.sampled_from(REGIONS), st.sampled_from([*ABOVE_INFO, "pending"])))


def _seed(fleet: Fleet, now: datetime, bad: set[tuple[str, str]]) -> None:
    """Three compliant backups in each region, and one more backup per drawn problem."""
    for region in REGIONS:
        fleet.backend(region).backups.clear()
        fleet.backend(region).clusters.clear()
        cluster = fleet.add_cluster(region, retention_days=379)
        fleet.add_daily_backups(region, cluster, days=3, now=now)
        for where, problem in bad:
            if where != region:
                continue
            created = now - timedelta(days=40)
            if problem == "pending":
                fleet.add_backup(
                    region,
                    cluster,
                    created=created,
                    state="PENDING_DELETION",
                    delete_at=now + timedelta(days=6),
                )
            else:
                fleet.add_backup(
                    region,
                    cluster,
                    created=created,
                    never_expires=problem == "never_expires",
                    mode="NON_FIPS" if problem == "non_fips" else "FIPS",
                )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(failed=failed_listings, bad=problems, include_shared=st.booleans())
# Every run: a denied listing beside a HIGH finding, and a finding of INFO only.
@example(
    failed={(SECONDARY, "DescribeClusters"): "deny"},
    bad={(PRIMARY, "non_fips")},
    include_shared=False,
)
@example(failed={}, bad={(PRIMARY, "pending")}, include_shared=True)
def test_incomplete_wins_over_findings_and_compliant_needs_no_error_and_no_finding(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    failed: dict[tuple[str, str], str],
    bad: set[tuple[str, str]],
    include_shared: bool,
) -> None:
    # Given three compliant backups in each region, drawn problem backups, and a random
    # set of listings denied or throttled
    url, fleet = server_fleet
    now = datetime.now(UTC)
    _seed(fleet, now, bad)
    fleet_server.layer.faults = [
        Fault(action, region=r, operation=op) for (r, op), action in failed.items()
    ]
    # When the scanner runs
    report = scan(
        ScanRequest(
            regions=REGIONS,
            policy=Policy(include_shared=include_shared),
            endpoint_url=url,
            now=now,
            limits=LIMITS,
        )
    )
    # Then one entry per failed listing, and every region whose backups could be read is
    # reported in full, its findings above INFO included
    assert {(e.region, e.operation) for e in report.errors} == set(failed)
    assert {e.account_id for e in report.errors} <= {DEFAULT_ACCOUNT}
    readable = {r for r in REGIONS if (r, "DescribeBackups") not in failed}
    for region in readable:
        assert report.by_region[region] == 3 + len([p for r, p in bad if r == region])
    seen_above_info = any(f.severity > Severity.INFO for f in report.findings)
    assert seen_above_info == any(r in readable and p in ABOVE_INFO for r, p in bad)
    # and the status: INCOMPLETE whenever a listing failed, even beside a HIGH finding;
    # else NON_COMPLIANT exactly when a finding is above INFO; COMPLIANT only then
    if failed:
        assert report.status is Status.INCOMPLETE
    elif seen_above_info:
        assert report.status is Status.NON_COMPLIANT
    else:
        assert report.status is Status.COMPLIANT

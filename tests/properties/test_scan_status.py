"""Through the real scanner and a moto server: INCOMPLETE exactly when a listing failed."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import Status
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

REGIONS = (PRIMARY, SECONDARY)
OPERATIONS = ("DescribeClusters", "DescribeBackups")
LIMITS = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=2)
listings = st.sets(st.tuples(st.sampled_from(REGIONS), st.sampled_from(OPERATIONS)))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(denied=listings, include_shared=st.booleans())
def test_the_status_is_incomplete_exactly_when_some_listing_failed(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    denied: set[tuple[str, str]],
    include_shared: bool,
) -> None:
    # Given three compliant backups in each region, and a random set of listings denied
    url, fleet = server_fleet
    now = datetime.now(UTC)
    if not fleet.backend(PRIMARY).backups:
        for region in REGIONS:
            cluster = fleet.add_cluster(region, retention_days=379)
            fleet.add_daily_backups(region, cluster, days=3, now=now)
    fleet_server.layer.faults = [Fault("deny", region=r, operation=op) for r, op in denied]
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
    # Then INCOMPLETE iff something was denied, one entry per denied listing, and every
    # region whose backups could be read is reported in full
    assert (report.status is Status.INCOMPLETE) == bool(denied)
    assert {(e.region, e.operation) for e in report.errors} == denied
    assert {e.account_id for e in report.errors} <= {DEFAULT_ACCOUNT}
    for region in REGIONS:
        if (region, "DescribeBackups") not in denied:
            assert report.by_region[region] == 3
    if not denied:
        assert report.status is Status.COMPLIANT

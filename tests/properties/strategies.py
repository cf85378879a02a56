"""Random fleets and policies, as raw API dicts and policy documents, for the properties."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from hsm_backup_audit.constants import (
    KNOWN_BACKUP_STATES,
    RETENTION_DAYS_MAX,
    RETENTION_DAYS_MIN,
    Rule,
)
from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.policy import Policy

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
TODAY = NOW.date()
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
CLUSTERS = ("cluster-aaaaaaaaaaa", "cluster-bbbbbbbbbbb", "cluster-ccccccccccc")
HSM_TYPES = ("hsm1.medium", "hsm2m.medium", "hsm3.large")
STATES = (*sorted(KNOWN_BACKUP_STATES), "ARCHIVED", "")

# Text an account member controls: anything, including line breaks and escapes.
hostile_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
) | st.sampled_from(["\n[HIGH] forged (1)\n", "\x1b[31m", "\u202e", "\u2028", "x" * 256])


def _moments() -> st.SearchStrategy[Any]:
    """Mostly sensible times (up to two years back, a little into the future), as botocore
    (aware) or moto (naive) hands them over, and some nonsense."""
    offset_hours = st.integers(min_value=-2 * 365 * 24, max_value=72)
    aware = offset_hours.map(lambda h: NOW + timedelta(hours=h))
    naive = aware.map(lambda moment: moment.replace(tzinfo=None))
    shifted = aware.map(lambda moment: moment.astimezone(timezone(timedelta(hours=-7))))
    return st.one_of(
        aware,
        aware,
        naive,
        shifted,
        st.none(),
        st.datetimes(timezones=st.just(timezone(timedelta(hours=5)))),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.sampled_from(["", "yesterday", "2026-02-30T00:00:00", float("nan"), True]),
    )


moments = _moments()


def _tags() -> st.SearchStrategy[Any]:
    short = st.text(max_size=12) | st.sampled_from(["\n[HIGH] forged (1)", "\x1b[31m", "x" * 256])
    tag = st.fixed_dictionaries({"Key": short, "Value": short})
    return st.one_of(st.none(), st.lists(tag, max_size=12), st.just("not-a-list"))


@st.composite
def raw_backup(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """One DescribeBackups item; the id is unique (`index`), everything else is random."""
    backup_id = f"backup-{index:011d}"
    region = draw(st.sampled_from(REGIONS))
    item: dict[str, Any] = {
        "BackupId": backup_id,
        "BackupArn": f"arn:aws:cloudhsm:{region}:{ACCOUNT}:backup/{backup_id}",
    }
    optional = {
        "BackupState": st.sampled_from([*STATES, None]),
        "ClusterId": st.sampled_from(CLUSTERS),
        "CreateTimestamp": moments,
        "NeverExpires": st.sampled_from([True, False, None, "true", 0]),
        "Mode": st.sampled_from(["FIPS", "NON_FIPS", "FIPS_140_3", "", None]),
        "HsmType": st.sampled_from([*HSM_TYPES, "", None]),
        "SourceBackup": st.sampled_from([None, "backup-source00000"]),
        "SourceRegion": st.sampled_from([None, "us-west-2"]),
        "DeleteTimestamp": moments,
        "TagList": _tags(),
    }
    item |= draw(st.fixed_dictionaries({}, optional=optional))
    item["_region"] = region  # where the test files it; never read by the engine
    return item


@st.composite
def fleets(draw: st.DrawFn, max_backups: int = 25) -> tuple[list[dict[str, Any]], list[Any]]:
    """(backups, clusters) as the API would list them."""
    count = draw(st.integers(min_value=0, max_value=max_backups))
    backups = [draw(raw_backup(index)) for index in range(count)]
    cluster = st.fixed_dictionaries(
        {"ClusterId": st.sampled_from(CLUSTERS), "_region": st.sampled_from(REGIONS)},
        optional={
            "State": st.sampled_from(["ACTIVE", "DELETED", "DELETE_IN_PROGRESS", "NEW", None]),
            "CreateTimestamp": moments,
            "BackupRetentionPolicy": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {
                        "Type": st.sampled_from(["DAYS", "WEEKS", None]),
                        "Value": st.one_of(
                            st.integers(0, 500).map(str), st.just("many"), st.none()
                        ),
                    }
                ),
            ),
        },
    )
    clusters = draw(st.lists(cluster, max_size=6))
    return backups, clusters


@st.composite
def policy_documents(
    draw: st.DrawFn, backup_ids: tuple[str, ...] = (), with_exemptions: bool = True
) -> dict[str, Any]:
    """A valid policy document; exemptions name the fleet's own backups and clusters."""
    low = draw(st.integers(RETENTION_DAYS_MIN, RETENTION_DAYS_MAX))
    high = draw(st.integers(low, RETENTION_DAYS_MAX))
    document: dict[str, Any] = {
        "allowed_modes": draw(st.lists(st.sampled_from(["FIPS", "NON_FIPS"]), min_size=1)),
        "allowed_hsm_types": draw(st.lists(st.sampled_from(HSM_TYPES), min_size=1)),
        "allow_never_expires": draw(st.booleans()),
        "include_shared": draw(st.booleans()),
        "min_retention_days": low,
        "max_retention_days": high,
        "overdue_grace_days": draw(st.integers(0, 30)),
        "max_copy_age_days": draw(st.integers(1, 800)),
        "max_backup_gap_hours": draw(st.integers(1, 24 * 30)),
    }
    if with_exemptions:
        document["exemptions"] = draw(st.lists(exemptions(backup_ids), max_size=4))
    return document


def exemptions(backup_ids: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    targets = st.sampled_from(CLUSTERS).map(lambda c: {"cluster_id": c})
    if backup_ids:
        targets = targets | st.sampled_from(backup_ids).map(lambda b: {"backup_id": b})
    return st.builds(
        lambda target, rules, days: {
            **target,
            "rules": rules,
            "reason": "change ticket 42",
            "expires": (TODAY + timedelta(days=days)).isoformat(),
        },
        targets,
        st.lists(st.sampled_from([str(rule) for rule in Rule]), min_size=1, unique=True),
        st.integers(-30, 30),
    )


scan_errors = st.lists(
    st.builds(
        ScanError,
        account_id=st.just(ACCOUNT),
        region=st.sampled_from(REGIONS),
        operation=st.sampled_from(["DescribeBackups", "DescribeClusters"]),
        code=st.sampled_from(["ThrottlingException", "ReadTimeoutError", "AccessDenied"]),
        message=st.just("injected"),
    ),
    max_size=3,
)


def run_audit(
    backups: list[dict[str, Any]],
    clusters: list[dict[str, Any]],
    policy: Policy,
    errors: Sequence[ScanError] = (),
    shared_every: int = 0,
) -> Report:
    """Fold a fleet into a report as the scanner does: each region's clusters first."""
    audit = Audit(policy, NOW)
    for region in REGIONS:
        audit.add_clusters(ACCOUNT, region, [c for c in clusters if c["_region"] == region])
    for region in REGIONS:
        mine = [b for b in backups if b["_region"] == region]
        audit.add_backups(ACCOUNT, region, False, mine)
        if shared_every:
            audit.add_backups(ACCOUNT, region, True, mine[::shared_every])
    for error in errors:
        audit.add_error(error)
    scope = Scope(
        regions=REGIONS,
        account_id=ACCOUNT,
        accounts=(ACCOUNT,),
        include_shared=policy.include_shared,
    )
    return audit.finish(scope)

"""For any fleet and any plan: `fix --apply` never touches a backup the plan lists under
`skipped`, and `undo` restores every applied backup still within its seven days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from hsm_backup_audit.aws.journal import APPLIED, UNDONE, Journal
from hsm_backup_audit.aws.remediation import Caller, apply_plan, undo_journal
from hsm_backup_audit.aws.security_hub import AccountSessions
from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.remediation import DELETE, Filters, plan_fixes
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, Fleet

REGIONS = (PRIMARY, SECONDARY)

backup_shape = st.fixed_dictionaries(
    {
        "age_days": st.integers(min_value=0, max_value=500),
        "never_expires": st.booleans(),
        "mode": st.sampled_from(["FIPS", "NON_FIPS"]),
        "hsm_type": st.sampled_from(["hsm2m.medium", "hsm1.medium"]),
        "state": st.sampled_from(["READY", "READY", "READY", "PENDING_DELETION"]),
    }
)
cluster_shape = st.fixed_dictionaries(
    {
        "region": st.sampled_from(REGIONS),
        "state": st.sampled_from(["ACTIVE", "ACTIVE", "DELETED"]),
        "backups": st.lists(backup_shape, min_size=1, max_size=5),
    }
)
plan_shape = st.fixed_dictionaries(
    {
        "delete": st.booleans(),
        "rules": st.lists(
            st.sampled_from(["never-expires", "mode", "hsm-type", "overdue"]), max_size=2
        ),
        "exempt": st.sets(st.integers(min_value=0, max_value=20), max_size=3),
        "unread_region": st.sampled_from([None, *REGIONS]),
        "expired": st.sets(st.integers(min_value=0, max_value=20), max_size=3),
    }
)


def _seed(fleet: Fleet, clusters: list[dict[str, Any]], now: datetime) -> list[str]:
    ids = []
    for shape in clusters:
        cluster = fleet.add_cluster(shape["region"], state=shape["state"], retention_days=30)
        for b in shape["backups"]:
            ids.append(
                fleet.add_backup(
                    shape["region"],
                    cluster,
                    created=now - timedelta(days=b["age_days"], hours=1),
                    never_expires=b["never_expires"],
                    mode=b["mode"],
                    hsm_type=b["hsm_type"],
                    state=b["state"],
                    delete_at=now + timedelta(days=3) if b["state"] != "READY" else None,
                )
            )
    return ids


def _report(fleet: Fleet, now: datetime, unread: str | None) -> dict[str, Any]:
    audit = Audit(Policy(), now)
    for region in REGIONS:
        backend = fleet.backend(region)
        audit.add_clusters(
            DEFAULT_ACCOUNT, region, [c.to_dict() for c in backend.clusters.values()]
        )
        audit.add_backups(
            DEFAULT_ACCOUNT, region, False, [b.to_dict() for b in backend.backups.values()]
        )
    scope = Scope(REGIONS, DEFAULT_ACCOUNT, (DEFAULT_ACCOUNT,), include_shared=False)
    errors = []
    if unread:
        errors.append({"account_id": DEFAULT_ACCOUNT, "region": unread, "listing": "owned"})
    findings = [f.to_dict() for f in audit.finish(scope).findings]
    return {"schema_version": 1, "findings": findings, "errors": errors}


def _state(fleet: Fleet) -> dict[str, tuple[Any, ...]]:
    return {
        backup_id: (b.backup_state, b.never_expires, b.delete_timestamp)
        for region in REGIONS
        for backup_id, b in fleet.backend(region).backups.items()
    }


@settings(max_examples=12, deadline=None)  # about 0.3 s an example (moto)
@given(clusters=st.lists(cluster_shape, min_size=1, max_size=3), options=plan_shape)
def test_apply_never_touches_skipped_and_undo_restores_within_seven_days(
    clusters: list[dict[str, Any]], options: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    with mock_aws(), TemporaryDirectory() as tmp:
        fleet = Fleet()
        ids = _seed(fleet, clusters, now)
        document = _report(fleet, now, options["unread_region"])
        exemptions = [
            {
                "backup_id": ids[i],
                "rules": ["never-expires", "mode"],
                "reason": "r",
                "expires": "2999-01-01",
            }
            for i in options["exempt"]
            if i < len(ids)
        ]
        policy = Policy.model_validate({"exemptions": exemptions})
        filters = Filters(rules=tuple(options["rules"]))
        plan = plan_fixes(
            document, filters, delete=options["delete"], policy=policy, today=now.date()
        )
        before = _state(fleet)
        caller = Caller(AccountSessions(boto3.session.Session()), calls_per_second=10_000)
        journal = Journal(Path(tmp) / "fix.jsonl")
        outcomes = apply_plan(plan.actions, caller, journal, policy)
        after = _state(fleet)
        # Then no skipped backup changed in any way
        for skipped in plan.skipped:
            assert skipped.backup_id is not None
            assert after[skipped.backup_id] == before[skipped.backup_id]
        # When some deletions age past their seven days, and the journal is undone
        applied = [o.action for o in outcomes if o.outcome == APPLIED]
        expired = set()
        for index, action in enumerate(applied):
            if action.action == DELETE and index in options["expired"]:
                backend = fleet.backend(action.region).backups[action.backup_id]
                backend.delete_timestamp = now.replace(tzinfo=None) - timedelta(minutes=1)
                expired.add(action.backup_id)
        undone = {o.action.key: o.outcome for o in undo_journal(caller, journal)}
        journal.close()
        final = _state(fleet)
        # Then every applied backup still within its seven days is back as it was
        for action in applied:
            if action.backup_id in expired:
                assert undone[action.key] != UNDONE
                continue
            assert undone[action.key] == UNDONE
            state, never_expires, _ = final[action.backup_id]
            assert (state, never_expires) == before[action.backup_id][:2]

"""The fix plan from a report document: each safety rail, the filters, one action per
backup, and the shell face. Pure: no AWS."""

from __future__ import annotations

import shlex
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.fix_render import plan_shell, plan_text
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.remediation import (
    BAD_ID,
    DELETE,
    LAST_RESTORE_POINT,
    MODIFY,
    NEEDS_DELETE,
    SHARED,
    Filters,
    PlanError,
    plan_fixes,
)

TODAY = date(2026, 12, 6)
ACCOUNT, MEMBER, REGION = "111122223333", "444455556666", "us-east-1"


def finding(rule: str, backup: str | None = "backup-aaaaaaaaaaa", **extra: Any) -> dict[str, Any]:
    entry = {
        "rule": rule,
        "account_id": ACCOUNT,
        "region": REGION,
        "cluster_id": "cluster-ccccccccccc",
        "backup_id": backup,
        "shared": False,
        "remediation": "aws cloudhsmv2 describe-clusters ...",
    }
    return {**entry, **extra}


def report(
    *findings: dict[str, Any], errors: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"schema_version": 1, "findings": list(findings), "errors": errors or [], **extra}


def reasons(plan: Any) -> dict[str | None, str]:
    return {s.backup_id: s.reason for s in plan.skipped}


def test_never_expires_is_modified_and_deletions_wait_for_delete() -> None:
    # Given a never-expires backup and a NON_FIPS one
    doc = report(finding("never-expires"), finding("mode", "backup-bbbbbbbbbbb"))
    # When planned without --delete, then with it
    plain = plan_fixes(doc, today=TODAY)
    deleting = plan_fixes(doc, delete=True, today=TODAY)
    # Then only the modify is planned, the deletion is only to consider, until --delete
    assert [(a.action, a.backup_id) for a in plain.actions] == [(MODIFY, "backup-aaaaaaaaaaa")]
    assert not plain.skipped
    assert [(c["backup_id"], c["reason"]) for c in plain.consider] == [
        ("backup-bbbbbbbbbbb", NEEDS_DELETE)
    ]
    assert plain.consider[0]["command"].startswith("aws cloudhsmv2 delete-backup")
    assert {a.action for a in deleting.actions} == {MODIFY, DELETE}
    assert "--never-expires" in plain.actions[0].undo


def test_shared_backup_is_never_touched() -> None:
    plan = plan_fixes(report(finding("never-expires", shared=True)), today=TODAY)
    assert not plan.actions
    assert reasons(plan) == {"backup-aaaaaaaaaaa": SHARED}


def test_last_restore_point_is_never_touched_even_with_delete() -> None:
    doc = report(finding("mode", last_restore_point=True))
    plan = plan_fixes(doc, delete=True, today=TODAY)
    assert not plan.actions
    assert reasons(plan) == {"backup-aaaaaaaaaaa": LAST_RESTORE_POINT}


def test_current_exemption_is_never_touched_and_an_expired_one_is_not_a_shield() -> None:
    # Given exemptions added after the report: one current, one expired
    policy = Policy.model_validate(
        {
            "exemptions": [
                {
                    "backup_id": "backup-aaaaaaaaaaa",
                    "rules": ["never-expires"],
                    "reason": "legal hold",
                    "expires": "2027-01-01",
                },
                {
                    "cluster_id": "cluster-ccccccccccc",
                    "rules": ["never-expires"],
                    "reason": "old",
                    "expires": "2026-12-05",
                },
            ]
        }
    )
    doc = report(finding("never-expires"), finding("never-expires", "backup-bbbbbbbbbbb"))
    plan = plan_fixes(doc, policy=policy, today=TODAY)
    # Then the exempted backup is skipped; the other (expired cluster exemption) is planned
    assert [a.backup_id for a in plan.actions] == ["backup-bbbbbbbbbbb"]
    assert "exemption until 2027-01-01" in reasons(plan)["backup-aaaaaaaaaaa"]


@pytest.mark.parametrize(
    ("error_region", "listing"),
    [(REGION, "owned"), (REGION, "clusters"), ("global", None)],
)
def test_incomplete_listing_from_errors_is_never_touched(
    error_region: str, listing: str | None
) -> None:
    # Given a report whose listing of the account (or the account itself) failed
    error = {"account_id": ACCOUNT, "region": error_region, "operation": "X", "code": "C"}
    if listing:
        error["listing"] = listing
    other = finding("never-expires", "backup-bbbbbbbbbbb", account_id=MEMBER)
    plan = plan_fixes(report(finding("never-expires"), other, errors=[error]), today=TODAY)
    # Then that account's backup is skipped and the other account's is planned
    assert [a.account_id for a in plan.actions] == [MEMBER]
    assert "did not read account" in reasons(plan)["backup-aaaaaaaaaaa"]


def test_coverage_section_wins_over_errors_when_present() -> None:
    # Given a coverage section that read the member's cells but only the owned cell here
    read = [
        {"account_id": MEMBER, "region": REGION, "listing": "owned"},
        {"account_id": MEMBER, "region": REGION, "listing": "clusters"},
        {"account_id": ACCOUNT, "region": REGION, "listing": "owned"},
    ]
    doc = report(
        finding("never-expires"),
        finding("never-expires", "backup-bbbbbbbbbbb", account_id=MEMBER),
        coverage={"read": read, "not_read": []},
    )
    plan = plan_fixes(doc, today=TODAY)
    # Then the account whose clusters cell was not read is skipped
    assert [a.account_id for a in plan.actions] == [MEMBER]


def test_one_action_per_backup_and_a_rail_on_any_finding_skips_the_backup() -> None:
    # Given one backup both NON_FIPS and hsm1 (one deletion), and one whose mode finding is
    # exempted while its hsm-type finding is not
    policy = Policy.model_validate(
        {
            "exemptions": [
                {
                    "backup_id": "backup-bbbbbbbbbbb",
                    "rules": ["mode"],
                    "reason": "migration",
                    "expires": "2027-01-01",
                }
            ]
        }
    )
    doc = report(
        finding("mode"),
        finding("hsm-type"),
        finding("mode", "backup-bbbbbbbbbbb"),
        finding("hsm-type", "backup-bbbbbbbbbbb"),
    )
    plan = plan_fixes(doc, delete=True, policy=policy, today=TODAY)
    assert [(a.backup_id, a.rules) for a in plan.actions] == [
        ("backup-aaaaaaaaaaa", ("mode", "hsm-type"))
    ]
    assert {s.backup_id for s in plan.skipped} == {"backup-bbbbbbbbbbb"}


def test_filters_and_rules_without_an_action() -> None:
    doc = report(
        finding("never-expires"),
        finding("never-expires", "backup-bbbbbbbbbbb", cluster_id="cluster-ddddddddddd"),
        finding("stale-cluster", None),
    )
    plan = plan_fixes(doc, Filters(clusters=("cluster-ddddddddddd",)), today=TODAY)
    assert [a.backup_id for a in plan.actions] == ["backup-bbbbbbbbbbb"]
    everything = plan_fixes(doc, today=TODAY)
    assert [c["rule"] for c in everything.consider] == ["stale-cluster"]
    assert "To consider" in plan_text(everything)


def test_an_id_the_api_would_refuse_is_never_sent_and_shell_stays_one_word_per_id() -> None:
    # Given a backup id full of shell syntax (as an account member could never name one,
    # but a hand-edited report could)
    hostile = "backup-x'; rm -rf / #"
    doc = report(finding("never-expires", hostile), finding("never-expires"))
    plan = plan_fixes(doc, today=TODAY)
    assert reasons(plan) == {hostile: BAD_ID}
    # Then the shell face runs one command, each id one quoted word, the rest comments
    commands = [line for line in plan_shell(plan).splitlines() if not line.startswith("#")]
    assert len(commands) == 1
    words = shlex.split(commands[0])
    assert words[words.index("--backup-id") + 1] == "backup-aaaaaaaaaaa"
    assert "'backup-aaaaaaaaaaa'" in commands[0]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"schema_version": 2, "findings": []},
        {"schema_version": 1, "findings": [1]},
        {"schema_version": 1, "findings": [], "errors": {"account_id": "1"}},
    ],
)
def test_not_a_report_is_refused(document: Any) -> None:
    with pytest.raises(PlanError):
        plan_fixes(document, today=TODAY)


def test_the_audit_marks_the_last_restore_point_only_while_the_cluster_exists() -> None:
    # Given two clusters, each with an old NON_FIPS backup as its only READY backup: one
    # ACTIVE, one DELETED
    now = datetime(2026, 12, 6, tzinfo=UTC)
    audit = Audit(Policy(), now)
    clusters = [
        {"ClusterId": "cluster-activeaaaaa", "State": "ACTIVE"},
        {"ClusterId": "cluster-deletedaaaa", "State": "DELETED"},
    ]
    audit.add_clusters(ACCOUNT, REGION, clusters)
    backups = [
        {
            "BackupId": f"backup-{name}aaaaaaaa",
            "ClusterId": cluster["ClusterId"],
            "BackupState": "READY",
            "CreateTimestamp": now - timedelta(days=3),
            "NeverExpires": False,
            "Mode": "NON_FIPS",
            "HsmType": "hsm2m.medium",
        }
        for name, cluster in zip(("one", "two"), clusters, strict=True)
    ]
    audit.add_backups(ACCOUNT, REGION, False, backups)
    scope = Scope(regions=(REGION,), account_id=ACCOUNT, accounts=(ACCOUNT,), include_shared=True)
    document: dict[str, Any] = {"schema_version": 1, "findings": [], "errors": []}
    document["findings"] = [f.to_dict() for f in audit.finish(scope).findings]
    # Then only the ACTIVE cluster's backup is marked, and the plan deletes only the other
    marked = {f["backup_id"] for f in document["findings"] if f.get("last_restore_point")}
    assert marked == {"backup-oneaaaaaaaa"}
    plan = plan_fixes(document, delete=True, today=TODAY)
    assert [a.backup_id for a in plan.actions] == ["backup-twoaaaaaaaa"]

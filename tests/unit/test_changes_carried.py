"""Not checked is carried forward: a finding not checked for several runs (a region no longer
enabled) keeps its first_seen and is neither new nor resolved until its cell is read again;
one whose account left the run's scope is "no longer audited", not carried forever. The
baseline reader checks `changes.not_checked` as strictly as the findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.baseline import BaselineError, check_baseline
from hsm_backup_audit.engine.changes import NO_LONGER_AUDITED, compute_changes
from hsm_backup_audit.engine.coverage import LISTINGS, derive
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.report import to_document

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
DAYS = [MONDAY + timedelta(days=n) for n in range(5)]
A, B = "111111111111", "222222222222"
EAST, WEST = "us-east-1", "eu-west-1"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "functions/hsm_backup_audit/report.schema.json").read_text()
)


def finding(n: int, *, region: str = WEST, shared: bool = False) -> Finding:
    return Finding(
        rule=Rule.MODE,
        severity=RULE_SEVERITY[Rule.MODE],
        account_id=A,
        region=region,
        cluster_id="cluster-abcdefghijk",
        backup_id=f"backup-{n:011d}",
        shared=shared,
        message=f"finding {n}",
        remediation="fix it",
    )


def run(
    findings: list[Finding],
    day: int,
    baseline: dict[str, Any] | None,
    *,
    west_enabled: bool = True,
    accounts: tuple[str, ...] = (A, B),
    include_shared: bool = False,
) -> dict[str, Any]:
    """One complete run's stored document, compared with `baseline`."""
    not_enabled = () if west_enabled else tuple((a, (WEST,)) for a in accounts)
    read = [
        (a, r, k)
        for a in accounts
        for r in (EAST, WEST)
        for k in LISTINGS
        if west_enabled or r != WEST
    ]
    coverage, _ = derive(accounts, (EAST, WEST), include_shared, read, [], dict(not_enabled))
    report = Report(
        status=Status.NON_COMPLIANT if findings else Status.COMPLIANT,
        generated_at=DAYS[day],
        scope=Scope(
            (EAST, WEST), accounts[0], accounts, include_shared, regions_not_enabled=not_enabled
        ),
        backups_scanned=10,
        findings=findings,
        errors=[],
        run_id=f"run-{day}",
        coverage=coverage,
    )
    report.changes = compute_changes(report, baseline)
    document: dict[str, Any] = json.loads(json.dumps(to_document(report)))
    jsonschema.validate(document, SCHEMA)
    return check_baseline(document, DAYS[day])


def test_a_finding_not_checked_for_several_runs_keeps_its_first_seen() -> None:
    # Given finding 1 first seen Monday in eu-west-1
    monday = run([finding(1), finding(2)], 0, None)
    # When eu-west-1 is not enabled on Tuesday and Wednesday (complete runs, each the
    # next one's baseline)
    tuesday = run([], 1, monday, west_enabled=False)
    wednesday = run([], 2, tuesday, west_enabled=False)
    # Then it is not checked on both days, never resolved, and keeps Monday
    for day in (tuesday, wednesday):
        assert day["changes"]["resolved"] == []
        assert {e["id"] for e in day["changes"]["not_checked"]} == {
            finding(1).id,
            finding(2).id,
        }
        assert {e["first_seen"] for e in day["changes"]["not_checked"]} == {"2026-11-23T07:00:00Z"}
    # And when the region comes back on Thursday, finding 1 is not new and keeps Monday,
    # while finding 2, gone from a cell now read, is resolved
    thursday = run([finding(1)], 3, wednesday)
    assert thursday["changes"]["new"] == []
    assert thursday["findings"][0]["first_seen"] == "2026-11-23T07:00:00Z"
    assert [e["id"] for e in thursday["changes"]["resolved"]] == [finding(2).id]
    assert thursday["changes"]["not_checked"] == []
    assert thursday["changes"]["unchanged"] == 1


def test_a_carried_shared_finding_is_still_decided_by_the_shared_listing() -> None:
    monday = run([finding(1, shared=True)], 0, None, include_shared=True)
    tuesday = run([], 1, monday, west_enabled=False, include_shared=True)
    (entry,) = tuesday["changes"]["not_checked"]
    assert entry["shared"] is True
    thursday = run([finding(1, shared=True)], 3, tuesday, include_shared=True)
    assert thursday["changes"]["new"] == []
    assert thursday["findings"][0]["first_seen"] == "2026-11-23T07:00:00Z"


def test_a_carried_finding_whose_account_left_the_scope_is_no_longer_audited() -> None:
    monday = run([finding(1)], 0, None)
    tuesday = run([], 1, monday, west_enabled=False)
    # When account A is no longer in the run's scope at all
    wednesday = run([], 2, tuesday, accounts=(B,))
    # Then the carried finding is "no longer audited" (never fixed), and not carried on
    (gone,) = wednesday["changes"]["resolved"]
    assert (gone["id"], gone["reason"]) == (finding(1).id, NO_LONGER_AUDITED)
    assert wednesday["changes"]["not_checked"] == []
    thursday = run([], 3, wednesday, accounts=(B,))
    assert thursday["changes"]["resolved"] == thursday["changes"]["not_checked"] == []


def _with_not_checked(*entries: dict[str, Any]) -> dict[str, Any]:
    monday = run([finding(1)], 0, None)
    tuesday = run([], 1, monday, west_enabled=False)
    (good,) = tuesday["changes"]["not_checked"]
    tuesday["changes"]["not_checked"] = [good | entry for entry in entries]
    return tuesday


@pytest.mark.parametrize(
    ("entries", "said"),
    [
        (({}, {}), "changes.not_checked.1.id: v1-"),  # twice
        (({"id": "v1-" + "0" * 31 + "\u200b"},), "changes.not_checked.0.id"),  # forged
        (({"id": 7},), "changes.not_checked.0.id"),
        (({"first_seen": "yesterday"},), "changes.not_checked.0.first_seen: not a time"),
        (({"first_seen": None},), "changes.not_checked.0.first_seen"),
        (({"rule": ["mode"]},), "changes.not_checked.0.rule"),
    ],
)
def test_the_baseline_reader_checks_not_checked_strictly(
    entries: tuple[dict[str, Any], ...], said: str
) -> None:
    with pytest.raises(BaselineError) as caught:
        check_baseline(_with_not_checked(*entries), DAYS[2])
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_not_checked_id_that_is_also_a_finding_is_refused() -> None:
    document = _with_not_checked({})
    document["findings"] = [document["changes"]["not_checked"][0] | {"shared": False}]
    with pytest.raises(BaselineError, match=r"changes\.not_checked\.0\.id: .* more than once"):
        check_baseline(document, DAYS[2])

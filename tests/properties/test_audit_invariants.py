"""Invariants of the pure audit, for random fleets and random valid policies."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from hsm_backup_audit.constants import (
    KNOWN_BACKUP_STATES,
    STATE_DELETED,
    STATE_PENDING_DELETION,
    Rule,
    Severity,
    Status,
)
from hsm_backup_audit.engine.model import parse_backup
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document, to_json, to_text

from .strategies import (
    ACCOUNT,
    TODAY,
    fleets,
    hostile_text,
    policy_documents,
    run_audit,
    scan_errors,
)

MODEST = settings(max_examples=50, deadline=None)
SCHEMA = Draft202012Validator(
    json.loads((files("hsm_backup_audit") / "report.schema.json").read_text()),
    format_checker=FormatChecker(),
)


@st.composite
def fleet_and_policy(draw: st.DrawFn) -> tuple[list[Any], list[Any], Policy]:
    backups, clusters = draw(fleets())
    ids = tuple(b["BackupId"] for b in backups)
    return backups, clusters, Policy.model_validate(draw(policy_documents(ids)))


def backup_rules_expected(raw: dict[str, Any], policy: Policy) -> set[Rule]:
    """The rules that need only the backup itself, written out again from the README."""
    record = parse_backup(raw, ACCOUNT, raw["_region"], shared=False)
    if record.state == STATE_DELETED:
        return set()
    if record.state == STATE_PENDING_DELETION:
        rules = {Rule.PENDING_DELETION}
    else:
        rules = set()
        if record.state not in KNOWN_BACKUP_STATES:
            rules.add(Rule.UNKNOWN_STATE)
        if record.never_expires is not False and not policy.allow_never_expires:
            rules.add(Rule.NEVER_EXPIRES)
        if record.mode not in policy.allowed_modes:
            rules.add(Rule.MODE)
        if record.hsm_type not in policy.allowed_hsm_types:
            rules.add(Rule.HSM_TYPE)
    return {
        rule
        for rule in rules
        if not any(
            ex.expires >= TODAY and ex.covers(rule, record.backup_id, record.cluster_id)
            for ex in policy.exemptions
        )
    }


@MODEST
@given(fleet_and_policy(), st.integers(0, 3))
def test_a_backup_is_non_compliant_exactly_when_a_rule_above_info_fires(
    case: tuple[list[Any], list[Any], Policy], shared_every: int
) -> None:
    # Given a random fleet (some backups also listed as shared) and a random policy
    backups, clusters, policy = case
    # When it is audited
    report = run_audit(backups, clusters, policy, shared_every=shared_every)
    # Then each backup fires exactly the backup-level rules that apply to it (overdue
    # aside, which depends on its cluster), and counts as non-compliant exactly when
    # one of its findings is above INFO
    fired: dict[str, set[Rule]] = {b["BackupId"]: set() for b in backups}
    for finding in report.findings:
        if finding.backup_id is not None:
            fired[finding.backup_id].add(finding.rule)
    expected_noncompliant = set()
    for raw in backups:
        expected = backup_rules_expected(raw, policy)
        assert fired[raw["BackupId"]] - {Rule.OVERDUE} == expected, raw
        if Rule.OVERDUE in fired[raw["BackupId"]]:
            assert raw.get("BackupState") not in {STATE_DELETED, STATE_PENDING_DELETION}
        if expected - {Rule.PENDING_DELETION} or Rule.OVERDUE in fired[raw["BackupId"]]:
            expected_noncompliant.add(raw["BackupId"])
    assert report.backups_noncompliant == len(expected_noncompliant)
    assert report.backups_scanned == len(backups)
    above_info = any(f.severity > Severity.INFO for f in report.findings)
    assert report.status is (Status.NON_COMPLIANT if above_info else Status.COMPLIANT)


@MODEST
@given(fleet_and_policy(), scan_errors)
def test_the_summary_adds_up_and_the_document_validates_against_the_schema(
    case: tuple[list[Any], list[Any], Policy], errors: list[Any]
) -> None:
    # Given a random fleet, policy and listing errors
    backups, clusters, policy = case
    # When the report is rendered
    report = run_audit(backups, clusters, policy, errors)
    document = to_document(report)
    # Then the counts add up to the findings, and the document meets the shipped schema
    summary = document["summary"]
    assert summary["findings"] == len(document["findings"]) == sum(summary["by_rule"].values())
    assert summary["errors"] == len(document["errors"]) == len(errors)
    assert sum(r["findings"] for r in summary["by_region"].values()) == summary["findings"]
    assert sum(r["backups_scanned"] for r in summary["by_region"].values()) == len(backups)
    assert summary["by_account"].get(ACCOUNT, {"findings": 0})["findings"] == summary["findings"]
    assert summary["backups_noncompliant"] <= summary["backups_scanned"] == len(backups)
    for rule, count in Counter(f["rule"] for f in document["findings"]).items():
        assert summary["by_rule"][rule] == count
    SCHEMA.validate(document)
    assert json.loads(to_json(report)) == document


@MODEST
@given(fleets(max_backups=15), hostile_text, hostile_text)
def test_hostile_values_never_break_the_schema_or_a_line(
    fleet: tuple[list[Any], list[Any]], text: str, other: str
) -> None:
    # Given a fleet whose ids, cluster ids and tags carry anything an account member types
    backups, clusters = fleet
    for raw in backups:
        raw["ClusterId"] = f"cluster-{text}"
        raw["TagList"] = [{"Key": text, "Value": other}]
    backups.append({"_region": "us-east-1", "BackupId": text, "NeverExpires": True})
    # When the report is rendered both ways
    report = run_audit(backups, clusters, Policy())
    # Then the JSON validates (every value one clean line), and the text has only the
    # line breaks it makes itself, with every finding line indented under its heading
    SCHEMA.validate(to_document(report))
    out = to_text(report)
    lines = out.split("\n")[:-1]
    assert out.splitlines() == lines
    assert all(line.isprintable() for line in lines)
    headings = [ln for ln in lines if ln.startswith("[")]
    assert len(headings) == len(report.by_rule)
    assert [ln for ln in lines if ln.startswith("CloudHSM backup audit:")] == [lines[0]]


def finding_keys(findings: list[Any]) -> Counter[tuple[Any, ...]]:
    return Counter((f.rule, f.account_id, f.region, f.cluster_id, f.backup_id) for f in findings)


@MODEST
@given(st.data())
def test_exemptions_only_ever_remove_findings(data: st.DataObject) -> None:
    # Given a random fleet and one policy with and one without random exemptions
    backups, clusters = data.draw(fleets())
    ids = tuple(b["BackupId"] for b in backups)
    document = data.draw(policy_documents(ids))
    with_exemptions = Policy.model_validate(document)
    without = Policy.model_validate({**document, "exemptions": []})
    # When the fleet is audited under each
    exempted = run_audit(backups, clusters, with_exemptions)
    plain = run_audit(backups, clusters, without)
    # Then every finding under the exemptions is also one without them
    assert not finding_keys(exempted.findings) - finding_keys(plain.findings)
    assert exempted.backups_noncompliant <= plain.backups_noncompliant
    assert exempted.backups_scanned == plain.backups_scanned


@MODEST
@given(fleet_and_policy(), scan_errors)
def test_the_status_is_incomplete_exactly_when_a_listing_failed(
    case: tuple[list[Any], list[Any], Policy], errors: list[Any]
) -> None:
    # Given a random fleet and policy, and zero or more failed listings
    backups, clusters, policy = case
    # When it is audited
    report = run_audit(backups, clusters, policy, errors)
    # Then INCOMPLETE iff some listing failed, whatever the findings say
    assert (report.status is Status.INCOMPLETE) == bool(errors)
    assert len(report.errors) == len(errors)


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


BACKUP_KEYS: tuple[str, ...] = (
    "BackupId",
    "BackupArn",
    "BackupState",
    "ClusterId",
    "CreateTimestamp",
)
BACKUP_KEYS += ("NeverExpires", "Mode", "HsmType", "SourceBackup", "DeleteTimestamp", "TagList")
junk_backup = st.dictionaries(st.sampled_from(BACKUP_KEYS), junk)


@MODEST
@given(st.lists(junk_backup | junk, max_size=8), st.lists(junk, max_size=4))
def test_the_audit_never_raises_on_junk(items: list[Any], cluster_items: list[Any]) -> None:
    # Given pages whose items are anything JSON can carry
    pages = [dict(item, _region="us-east-1") if isinstance(item, dict) else item for item in items]
    # When they are folded as backups and as clusters
    clusters = [dict(c, _region="eu-west-1") for c in cluster_items if isinstance(c, dict)]
    backups = [p for p in pages if isinstance(p, dict)]
    report = run_audit(backups, clusters, Policy())
    # Then the audit stands and every backup is counted (the same BackupArn once)
    assert 0 < report.backups_scanned <= len(backups) or not backups
    SCHEMA.validate(to_document(report))

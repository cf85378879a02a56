"""Property: whatever a finding holds, its ASFF documents satisfy botocore's model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.constants import Rule, Severity
from hsm_backup_audit.engine.asff import run_documents
from hsm_backup_audit.engine.changes import ResolvedFinding
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.policy import Exemption
from hsm_backup_audit.engine.reconcile import STATE_FIELDS, archived
from tests.asff_model import asff_problems, resolved_of

from .strategies import NOW, hostile_text

PARTITIONS = {"us-east-1": "aws", "eu-west-1": "aws", "cn-north-1": "aws-cn"}
accounts = st.from_regex(r"\A\d{12}\Z")
regions = st.sampled_from(sorted(PARTITIONS))
optional_text = st.none() | hostile_text
moments = st.integers(min_value=-3 * 365 * 24, max_value=0).map(
    lambda hours: NOW + timedelta(hours=hours)
)

findings = st.builds(
    Finding,
    rule=st.sampled_from(list(Rule)),
    severity=st.sampled_from(list(Severity)),
    account_id=accounts,
    region=regions,
    cluster_id=hostile_text,
    backup_id=optional_text,
    shared=st.booleans(),
    message=hostile_text,
    remediation=hostile_text,
    tags=st.lists(st.tuples(hostile_text, hostile_text), max_size=10).map(tuple),
    resource_arn=optional_text.filter(lambda text: text is None or bool(text.strip())),
    mode=optional_text,
    hsm_type=optional_text,
)


@st.composite
def resolved_findings(draw: Any) -> ResolvedFinding:
    return resolved_of(draw(findings), draw(moments))


exemptions = st.builds(
    Exemption,
    cluster_id=st.text(min_size=1, max_size=20),
    rules=st.lists(st.sampled_from(list(Rule)), min_size=1, max_size=3).map(tuple),
    reason=hostile_text.filter(lambda text: 1 <= len(text) <= 512),
    expires=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 1, 1)),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(findings, max_size=8),
    st.lists(resolved_findings(), max_size=4),
    st.lists(exemptions, max_size=2),
    moments,
)
def test_every_document_of_any_run_validates(
    found: list[Finding],
    resolved: list[ResolvedFinding],
    policy_exemptions: list[Exemption],
    first: datetime,
) -> None:
    # Given any findings and resolved findings, with hostile text anywhere
    # When the run's documents are made
    documents = run_documents(
        found,
        resolved,
        first_seen={f.id: first for f in found},
        observed_at=NOW.astimezone(UTC),
        partition_of=PARTITIONS.__getitem__,
        exemptions=policy_exemptions,
    )
    # Then each one satisfies botocore's AwsSecurityFinding shape and ASFF's limits,
    for document in documents:
        assert asff_problems(document) == [], document
    # one for each finding above INFO and each resolved one that was ever sent
    above_info = [f for f in found if f.severity > Severity.INFO]
    ever_sent = [r for r in resolved if r.severity != "INFO"]
    assert len(documents) == len(above_info) + len(ever_sent)


@settings(max_examples=60, deadline=None)
@given(findings.filter(lambda f: f.severity > Severity.INFO), st.none() | exemptions, moments)
def test_any_archived_document_is_its_last_active_one_with_only_the_state_changed(
    finding: Finding, exemption: Exemption | None, first: datetime
) -> None:
    # Given any finding's ACTIVE document, hostile text anywhere
    (last,) = run_documents(
        [finding],
        [],
        first_seen={finding.id: first},
        observed_at=first,
        partition_of=PARTITIONS.__getitem__,
    )
    # When reconciliation archives it (PASSED, or WARNING under an exemption)
    gone = archived(last, observed_at=NOW.astimezone(UTC), exemption=exemption)
    # Then it is valid, and only the state fields changed
    assert asff_problems(gone) == [], gone

    def rest(document: dict[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in document.items() if key not in STATE_FIELDS}
        provider = {k: v for k, v in kept["FindingProviderFields"].items() if k != "Severity"}
        return kept | {"FindingProviderFields": provider}

    assert rest(gone) == rest(last)
    assert gone["RecordState"] == "ARCHIVED"
    assert gone["Compliance"]["Status"] == ("PASSED" if exemption is None else "WARNING")

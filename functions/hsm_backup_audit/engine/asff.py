"""Findings as AWS Security Finding Format documents for Security Hub. Pure: no AWS here.

One document per finding above INFO, into the default product of the account it is about,
in the region of its resource. Its `Id` is the stable finding id, so the next run's import
updates it instead of adding another. A finding resolved since the last run goes again,
ARCHIVED and PASSED. Sending the documents is the adapter's job (aws/security_hub.py).

Field values are in asff_fields.py, one document in asff_documents.py; both re-exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from ..constants import Severity
from .asff_documents import finding_document, resolved_document
from .asff_fields import (
    BEST_PRACTICES,
    DESCRIPTION_MAX,
    DETAIL_VALUE_MAX,
    PASSED_LABEL,
    RECOMMENDATION_MAX,
    RULE_TITLES,
    RULE_TYPES,
    STANDARDS,
    TITLE_MAX,
    document_id,
    known_rule,
    product_arn,
    recommendation_url,
    resource_arn,
    timestamp,
)
from .changes import ResolvedFinding
from .model import Finding
from .policy import Exemption

__all__ = [
    "BEST_PRACTICES",
    "DESCRIPTION_MAX",
    "DETAIL_VALUE_MAX",
    "PASSED_LABEL",
    "RECOMMENDATION_MAX",
    "RULE_TITLES",
    "RULE_TYPES",
    "STANDARDS",
    "TITLE_MAX",
    "covering_exemption",
    "document_id",
    "finding_document",
    "product_arn",
    "recommendation_url",
    "resolved_document",
    "resource_arn",
    "run_documents",
    "timestamp",
]


def covering_exemption(
    resolved: ResolvedFinding, exemptions: Sequence[Exemption], today: date
) -> Exemption | None:
    """The active exemption that now covers this finding, if that is why it left."""
    rule = known_rule(resolved.rule)
    if rule is None:
        return None
    active = [
        ex
        for ex in exemptions
        if ex.expires >= today and ex.covers(rule, resolved.backup_id, resolved.cluster_id)
    ]
    return max(active, key=lambda ex: ex.expires, default=None)


def run_documents(
    findings: Iterable[Finding],
    resolved: Iterable[ResolvedFinding],
    *,
    first_seen: Mapping[str, datetime],
    observed_at: datetime,
    partition_of: Callable[[str], str],
    exemptions: Sequence[Exemption] = (),
) -> list[dict[str, Any]]:
    """Every document one run sends: its findings above INFO (first seen when the run
    history says, else now), then the resolved ones that were ever sent (above INFO)."""
    documents = [
        finding_document(
            finding,
            first_seen=first_seen.get(finding.id, observed_at),
            observed_at=observed_at,
            partition=partition_of(finding.region),
        )
        for finding in findings
        if finding.severity > Severity.INFO
    ]
    today = observed_at.astimezone(UTC).date()
    documents += [
        resolved_document(
            gone,
            observed_at=observed_at,
            partition=partition_of(gone.region),
            exemption=covering_exemption(gone, exemptions, today),
        )
        for gone in resolved
        if gone.severity != Severity.INFO.name
    ]
    return documents

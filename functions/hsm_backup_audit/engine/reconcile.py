"""Reconciliation with Security Hub: which of the audit's ACTIVE findings there to archive.
Pure: no AWS here (aws/security_hub.py reads them with GetFindings and sends the result).

Each run reads the ACTIVE findings it imported earlier (its own product, generator and
account, in each region it read) and archives those it no longer reports, as Prowler does.
It decides only where it can: a finding is archived only when the cells it lies in were read
completely (`Coverage.decides`), and never when the policy stopped its rule or listing ("no
longer audited": it stays as it is). The ARCHIVED document is Security Hub's own copy of the
last ACTIVE one with only the state fields changed, so its Resources (the resource Id
above all), Remediation, Tags and Details never change on archive.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..constants import SERVICE_NAME, Rule
from .asff import PASSED_LABEL, timestamp
from .changes import stopped_by_policy
from .coverage import Coverage
from .model import safe_text
from .policy import Exemption, Policy

ACTIVE, ARCHIVED = "ACTIVE", "ARCHIVED"
GENERATOR_PREFIX = f"{SERVICE_NAME}/"  # every GeneratorId the audit writes (asff.py)
RULE_FIELD = f"{SERVICE_NAME}/Rule"
FINDING_ID_FIELD = f"{SERVICE_NAME}/FindingId"
# The fields an archive changes; everything else is the last ACTIVE document's.
STATE_FIELDS = ("RecordState", "Compliance", "UpdatedAt", "Severity")
FIXED_REASON = "HSM_BACKUP_AUDIT_NOT_FOUND"
EXEMPTED_REASON = "HSM_BACKUP_AUDIT_EXEMPTED"


def get_findings_filters(product_arn: str, account_id: str, region: str) -> dict[str, Any]:
    """GetFindings' Filters for this audit's ACTIVE findings in one account and region."""

    def equals(value: str) -> list[dict[str, str]]:
        return [{"Value": value, "Comparison": "EQUALS"}]

    return {
        "ProductArn": equals(product_arn),
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "AwsAccountId": equals(account_id),
        "Region": equals(region),
        "RecordState": equals(ACTIVE),
    }


def _resource(document: Mapping[str, Any]) -> Mapping[str, Any]:
    resources = document.get("Resources")
    first = resources[0] if isinstance(resources, list) and resources else None
    return first if isinstance(first, Mapping) else {}


def region_of(document: Mapping[str, Any]) -> Any:
    """The region a document was imported into: its resource's (aws/security_hub.py)."""
    return _resource(document).get("Region", document.get("Region"))


def is_ours(document: Any, product_arn: str, account_id: str, region: str) -> bool:
    """What the filters ask for, checked again on what came back (moto ignores Filters)."""
    return (
        isinstance(document, Mapping)
        and document.get("ProductArn") == product_arn
        and str(document.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)
        and document.get("AwsAccountId") == account_id
        and region_of(document) == region
        and document.get("RecordState") == ACTIVE
        and isinstance(document.get("Id"), str)
    )


def finding_fields(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The finding a document is about, as the report names its fields, from what asff.py
    writes (ProductFields and Details.Other); None when it does not say enough to decide."""
    product = document.get("ProductFields")
    details = _resource(document).get("Details")
    other = details.get("Other") if isinstance(details, Mapping) else None
    if not isinstance(product, Mapping) or not isinstance(other, Mapping):
        return None
    rule, shared = product.get(RULE_FIELD), other.get("Shared")
    if not isinstance(rule, str) or shared not in ("true", "false"):
        return None  # an older document, or not one of ours: left as it is
    return {
        "id": product.get(FINDING_ID_FIELD),
        "rule": rule,
        "account_id": document.get("AwsAccountId"),
        "region": region_of(document),
        "cluster_id": other.get("ClusterId"),
        "backup_id": other.get("BackupId"),
        "shared": shared == "true",
    }


def covering(fields: Mapping[str, Any], exemptions: Sequence[Exemption], today: date) -> Any:
    """The active exemption that now covers the finding, if that is why it left."""
    try:
        rule = Rule(str(fields.get("rule")))
    except ValueError:
        return None
    backup_id, cluster_id = fields.get("backup_id"), fields.get("cluster_id")
    active = [
        ex
        for ex in exemptions
        if ex.expires >= today and ex.covers(rule, backup_id, cluster_id or "")
    ]
    return max(active, key=lambda ex: ex.expires, default=None)


def archived(
    active: Mapping[str, Any], *, observed_at: datetime, exemption: Exemption | None = None
) -> dict[str, Any]:
    """The last ACTIVE document, ARCHIVED: PASSED (not found by this run), or WARNING when an
    exemption now covers it (no fix: the reason and expiry say so). Only the state fields
    change (and FindingProviderFields' Severity with Severity)."""
    document = copy.deepcopy(dict(active))
    if exemption is None:
        status, code = "PASSED", FIXED_REASON
        said = f"Resolved: not found by the audit of {timestamp(observed_at)}."
    else:
        status, code = "WARNING", EXEMPTED_REASON
        said = (
            f"Exempted by the audit policy until {exemption.expires.isoformat()} "
            f"(reason: {safe_text(exemption.reason, 300)})."
        )
    was = active.get("Severity")
    original = was.get("Label") if isinstance(was, Mapping) else None
    severity = {"Label": PASSED_LABEL, "Original": safe_text(original, 64) or PASSED_LABEL}
    document["Severity"] = severity
    provider = document.get("FindingProviderFields")
    if isinstance(provider, dict):
        provider["Severity"] = dict(severity)
    document["Compliance"] = {
        "Status": status,
        "StatusReasons": [{"ReasonCode": code, "Description": safe_text(said, 2048)}],
    }
    document["UpdatedAt"] = timestamp(observed_at)
    document["RecordState"] = ARCHIVED
    return document


def to_archive(
    active: Iterable[Mapping[str, Any]],
    reported: set[str],
    *,
    coverage: Coverage | None,
    policy: Policy,
    include_shared: bool,
    observed_at: datetime,
) -> list[dict[str, Any]]:
    """The ACTIVE documents Security Hub holds that this run no longer reports, archived:
    only those in cells read completely, never those the policy stopped auditing."""
    if coverage is None:
        return []
    today = observed_at.date()
    documents = []
    for document in active:
        if document.get("Id") in reported:
            continue
        fields = finding_fields(document)
        if fields is None or stopped_by_policy(fields, policy, include_shared):
            continue
        if not coverage.decides(fields):
            continue
        exemption = covering(fields, policy.exemptions, today)
        documents.append(archived(document, observed_at=observed_at, exemption=exemption))
    return documents

"""One ASFF document: a finding's ACTIVE, FAILED one, or a resolved finding's ARCHIVED one.
Pure: no AWS here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..constants import ASFF_SCHEMA_VERSION, SERVICE_NAME
from .asff_fields import (
    BEST_PRACTICES,
    DESCRIPTION_MAX,
    PASSED_LABEL,
    RECOMMENDATION_MAX,
    RULE_TYPES,
    document_id,
    known_rule,
    other_details,
    product_arn,
    recommendation_url,
    resource_arn,
    resource_tags,
    severity_field,
    timestamp,
    title_of,
)
from .changes import ResolvedFinding
from .model import Finding, safe_text
from .policy import Exemption


def _common(
    *,
    finding_id: str,
    rule: str,
    account_id: str,
    region: str,
    cluster_id: str,
    backup_id: str | None,
    partition: str,
    first_seen: datetime,
    observed_at: datetime,
) -> dict[str, Any]:
    rule_known = known_rule(rule)
    types = list(RULE_TYPES[rule_known] if rule_known else (BEST_PRACTICES,))
    rule, finding_id = safe_text(rule, 64), safe_text(finding_id, 400)  # a baseline's, maybe
    return {
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": document_id(finding_id),
        "ProductArn": product_arn(partition, region, account_id),
        "GeneratorId": f"{SERVICE_NAME}/{rule}",
        "AwsAccountId": account_id,
        "Types": types,
        "CreatedAt": timestamp(first_seen),
        "FirstObservedAt": timestamp(first_seen),
        "UpdatedAt": timestamp(observed_at),
        "LastObservedAt": timestamp(observed_at),
        "Title": title_of(rule, cluster_id, backup_id),
        "ProductFields": {
            f"{SERVICE_NAME}/FindingId": finding_id,
            f"{SERVICE_NAME}/Rule": rule,
        },
    }


def finding_document(
    finding: Finding, *, first_seen: datetime, observed_at: datetime, partition: str
) -> dict[str, Any]:
    """The ACTIVE, FAILED document of a finding this run has."""
    rule = str(finding.rule)
    document = _common(
        finding_id=finding.id,
        rule=rule,
        account_id=finding.account_id,
        region=finding.region,
        cluster_id=finding.cluster_id,
        backup_id=finding.backup_id,
        partition=partition,
        first_seen=first_seen,
        observed_at=observed_at,
    )
    severity = severity_field(finding.severity.name, finding.severity.name)
    arn = safe_text(finding.resource_arn, 2048) or resource_arn(
        partition, finding.region, finding.account_id, finding.cluster_id, finding.backup_id
    )
    resource: dict[str, Any] = {
        "Type": "Other",
        "Id": arn,
        "Partition": partition,
        "Region": finding.region,
        "Details": {
            "Other": other_details(
                {
                    "ClusterId": finding.cluster_id,
                    "BackupId": finding.backup_id,
                    "Mode": finding.mode,
                    "HsmType": finding.hsm_type,
                    "Shared": str(finding.shared).lower(),
                }
            )
        },
    }
    tags = resource_tags(finding.tags)
    if tags:
        resource["Tags"] = tags
    shared = (
        " The backup is shared with this account: its owner must act." if finding.shared else ""
    )
    recommendation = safe_text(finding.remediation, RECOMMENDATION_MAX)
    advice = {"Text": recommendation} if recommendation else {}
    document["Remediation"] = {"Recommendation": advice | {"Url": recommendation_url(rule)}}
    return document | {
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": document["Types"]},
        "Description": safe_text(finding.message + shared, DESCRIPTION_MAX) or document["Title"],
        "Resources": [resource],
        "Compliance": {"Status": "FAILED"},
        "RecordState": "ACTIVE",
    }


def resolved_document(
    resolved: ResolvedFinding,
    *,
    observed_at: datetime,
    partition: str,
    exemption: Exemption | None = None,
) -> dict[str, Any]:
    """The ARCHIVED document of a finding fixed since the last run: PASSED, or WARNING when
    it left because an exemption now covers it (that is no fix: the reason and expiry say why)."""
    document = _common(
        finding_id=resolved.id,
        rule=resolved.rule,
        account_id=resolved.account_id,
        region=resolved.region,
        cluster_id=resolved.cluster_id,
        backup_id=resolved.backup_id,
        partition=partition,
        first_seen=resolved.first_seen,
        observed_at=observed_at,
    )
    if exemption is None:
        status = "PASSED"
        said = f"Resolved: not found by the audit of {timestamp(observed_at)}."
    else:
        status = "WARNING"
        said = (
            f"Exempted by the audit policy until {exemption.expires.isoformat()} "
            f"(reason: {safe_text(exemption.reason, 300)})."
        )
    severity = severity_field(PASSED_LABEL, safe_text(resolved.severity, 64) or PASSED_LABEL)
    return document | {
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": document["Types"]},
        "Description": safe_text(f"{said} It was: {resolved.message}", DESCRIPTION_MAX),
        "Resources": [
            {
                "Type": "Other",
                "Id": resource_arn(
                    partition,
                    resolved.region,
                    resolved.account_id,
                    resolved.cluster_id,
                    resolved.backup_id,
                ),
                "Partition": partition,
                "Region": resolved.region,
                "Details": {
                    "Other": other_details(
                        {"ClusterId": resolved.cluster_id, "BackupId": resolved.backup_id}
                    )
                },
            }
        ],
        "Compliance": {"Status": status},
        "RecordState": "ARCHIVED",
    }

"""Findings as AWS Security Finding Format documents for Security Hub. Pure: no AWS here.

One document per finding above INFO, into the default product of the account it is about,
in the region of its resource. Its `Id` is the stable finding id, so the next run's import
updates it instead of adding another. A finding resolved since the last run goes again,
ARCHIVED and PASSED. Sending the documents is the adapter's job (aws/security_hub.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from ..constants import ASFF_SCHEMA_VERSION, DOCS_BASE_URL, SERVICE_NAME, Rule, Severity
from .changes import ResolvedFinding
from .model import Finding, safe_text
from .policy import Exemption

# ASFF's limits (botocore's model documents them; tests check every document against it).
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
RECOMMENDATION_MAX = 512
DETAIL_VALUE_MAX = 1023  # Details.Other values stay under 1,024 characters

BEST_PRACTICES = "Software and Configuration Checks/AWS Security Best Practices"
STANDARDS = "Software and Configuration Checks/Industry and Regulatory Standards"
RULE_TYPES: dict[Rule, tuple[str, ...]] = {
    Rule.NEVER_EXPIRES: (BEST_PRACTICES,),
    Rule.MODE: (BEST_PRACTICES, STANDARDS),  # FIPS 140 validated mode
    Rule.HSM_TYPE: (BEST_PRACTICES, STANDARDS),  # hsm1's FIPS certificate went historical
    Rule.PENDING_DELETION: (BEST_PRACTICES,),
    Rule.RETENTION_POLICY: (BEST_PRACTICES,),
    Rule.OVERDUE: (BEST_PRACTICES,),
    Rule.STALE_CLUSTER: (BEST_PRACTICES,),
    Rule.UNKNOWN_STATE: (BEST_PRACTICES,),
}
RULE_TITLES: dict[Rule, str] = {
    Rule.NEVER_EXPIRES: "CloudHSM backup never expires",
    Rule.MODE: "CloudHSM backup is in a mode the policy does not allow",
    Rule.HSM_TYPE: "CloudHSM backup is of an HSM type the policy does not allow",
    Rule.PENDING_DELETION: "CloudHSM backup is pending deletion",
    Rule.RETENTION_POLICY: "CloudHSM cluster's backup retention is outside the policy",
    Rule.OVERDUE: "CloudHSM backup is older than its retention allows",
    Rule.STALE_CLUSTER: "CloudHSM cluster has no recent backup",
    Rule.UNKNOWN_STATE: "CloudHSM backup is in a state the audit does not know",
}
PASSED_LABEL = "INFORMATIONAL"  # as Security Hub's own controls label a PASSED finding


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, one of ASFF's formats: 2026-11-27T07:00:00Z. The JSON
    report keeps seconds too, so a first-seen time read back from the history is unchanged."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")


def document_id(finding_id: str) -> str:
    return f"{SERVICE_NAME}/{finding_id}"


def recommendation_url(rule: str) -> str:
    """The rule's section of the project's docs (docs/rules.md has one heading per rule)."""
    return f"{DOCS_BASE_URL}/rules.md#{safe_text(rule, 64)}"


def product_arn(partition: str, region: str, account_id: str) -> str:
    """The account's default product: findings it imports about itself."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def resource_arn(
    partition: str, region: str, account_id: str, cluster_id: str, backup_id: str | None
) -> str:
    """CloudHSM v2's ARN formats: ...:cloudhsm:REGION:ACCOUNT:backup/ID and .../cluster/ID."""
    kind, name = ("backup", backup_id) if backup_id else ("cluster", cluster_id)
    return safe_text(f"arn:{partition}:cloudhsm:{region}:{account_id}:{kind}/{name}", 2048)


def _rule(name: str) -> Rule | None:
    try:
        return Rule(name)
    except ValueError:
        return None


def _title(rule_name: str, cluster_id: str, backup_id: str | None) -> str:
    rule = _rule(rule_name)
    what = RULE_TITLES[rule] if rule else f"CloudHSM backup audit: {rule_name}"
    subject = backup_id or cluster_id
    return safe_text(f"{what}: {subject}", TITLE_MAX)


def _details(values: Mapping[str, str | None]) -> dict[str, str]:
    """Details.Other: ASFF takes no empty value, so an unknown one is left out."""
    cleaned = {key: safe_text(value, DETAIL_VALUE_MAX) for key, value in values.items()}
    return {key: value for key, value in cleaned.items() if value}


def _tags(tags: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The backup's tags, one line each within AWS's tag limits; ASFF takes no empty ones."""
    cleaned = ((safe_text(key, 128), safe_text(value, 256)) for key, value in tags)
    return {key: value for key, value in cleaned if key and value}


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
    rule_known = _rule(rule)
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
        "Title": _title(rule, cluster_id, backup_id),
        "ProductFields": {
            f"{SERVICE_NAME}/FindingId": finding_id,
            f"{SERVICE_NAME}/Rule": rule,
        },
    }


def _severity(label: str, original: str) -> dict[str, str]:
    return {"Label": label, "Original": original}


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
    severity = _severity(finding.severity.name, finding.severity.name)
    arn = safe_text(finding.resource_arn, 2048) or resource_arn(
        partition, finding.region, finding.account_id, finding.cluster_id, finding.backup_id
    )
    resource: dict[str, Any] = {
        "Type": "Other",
        "Id": arn,
        "Partition": partition,
        "Region": finding.region,
        "Details": {
            "Other": _details(
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
    tags = _tags(finding.tags)
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
    severity = _severity(PASSED_LABEL, safe_text(resolved.severity, 64) or PASSED_LABEL)
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
                    "Other": _details(
                        {"ClusterId": resolved.cluster_id, "BackupId": resolved.backup_id}
                    )
                },
            }
        ],
        "Compliance": {"Status": status},
        "RecordState": "ARCHIVED",
    }


def covering_exemption(
    resolved: ResolvedFinding, exemptions: Sequence[Exemption], today: date
) -> Exemption | None:
    """The active exemption that now covers this finding, if that is why it left."""
    rule = _rule(resolved.rule)
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

"""ASFF's field values for the audit's documents: limits, types and titles per rule, ids,
ARNs, timestamps, and the cleaning each free-text field needs. Pure: no AWS here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from ..constants import DOCS_BASE_URL, SERVICE_NAME, Rule
from .model import safe_text

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


def known_rule(name: str) -> Rule | None:
    try:
        return Rule(name)
    except ValueError:
        return None


def title_of(rule_name: str, cluster_id: str, backup_id: str | None) -> str:
    rule = known_rule(rule_name)
    what = RULE_TITLES[rule] if rule else f"CloudHSM backup audit: {rule_name}"
    subject = backup_id or cluster_id
    return safe_text(f"{what}: {subject}", TITLE_MAX)


def other_details(values: Mapping[str, str | None]) -> dict[str, str]:
    """Details.Other: ASFF takes no empty value, so an unknown one is left out."""
    cleaned = {key: safe_text(value, DETAIL_VALUE_MAX) for key, value in values.items()}
    return {key: value for key, value in cleaned.items() if value}


def resource_tags(tags: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The backup's tags, one line each within AWS's tag limits; ASFF takes no empty ones."""
    cleaned = ((safe_text(key, 128), safe_text(value, 256)) for key, value in tags)
    return {key: value for key, value in cleaned if key and value}


def severity_field(label: str, original: str) -> dict[str, str]:
    return {"Label": label, "Original": original}

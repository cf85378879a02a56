"""Hand-written report documents for the evidence tests: the shape `scan --format json` and
the Lambda write, with only what the period reads."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.engine.period import SourcedReport

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def finding(
    backup_id: str | None,
    rule: str = "mode",
    severity: str = "HIGH",
    cluster_id: str = "cluster-abc",
    account_id: str = ACCOUNT,
    region: str = REGION,
    first_seen: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": finding_id(rule, account_id, region, cluster_id, backup_id),
        "rule": rule,
        "severity": severity,
        "account_id": account_id,
        "region": region,
        "cluster_id": cluster_id,
        "backup_id": backup_id,
        "shared": False,
        "message": "m",
        "remediation": "r",
        "tags": {},
    }
    if first_seen:
        entry["first_seen"] = first_seen
    return entry


def report(
    at: datetime,
    findings: list[dict[str, Any]],
    status: str | None = None,
    resolved: list[dict[str, Any]] | None = None,
    errors: int = 0,
) -> dict[str, Any]:
    if status is None:
        above_info = any(f["severity"] != "INFO" for f in findings)
        status = "INCOMPLETE" if errors else ("NON_COMPLIANT" if above_info else "COMPLIANT")
    document: dict[str, Any] = {
        "schema_version": 1,
        "status": status,
        "generated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_id": f"{at:%Y%m%dT%H%M%SZ}-test",
        "scope": {
            "regions": [REGION],
            "account_id": ACCOUNT,
            "accounts": [ACCOUNT],
            "include_shared": True,
            "policy_source": "policy.json",
        },
        "summary": {},
        "findings": findings,
        "errors": [
            {
                "account_id": ACCOUNT,
                "region": REGION,
                "operation": "DescribeBackups",
                "code": "ThrottlingException",
                "message": "slow down",
                "listing": "owned",
            }
        ]
        * errors,
    }
    if resolved is not None:
        document["changes"] = {"baseline": None, "new": [], "resolved": resolved, "unchanged": 0}
    return document


def sourced(document: dict[str, Any], location: str, policy: Any = None) -> SourcedReport:
    body = json.dumps(document).encode()
    return SourcedReport(
        document=document,
        location=location,
        sha256=hashlib.sha256(body).hexdigest(),
        version_id=None,
        policy=policy,
    )

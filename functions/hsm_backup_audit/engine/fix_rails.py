"""Two of the fix plan's safety rails, read from the report and the policy: which accounts
and regions the report did not read completely, and which findings a current exemption
covers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .policy import Policy

# An error entry of account set-up (AssumeRole, GetCallerIdentity) covers every region.
WHOLE_ACCOUNT_REGIONS = frozenset({"global", "all", ""})
UNKNOWN_ACCOUNT = "unknown"


class Unread:
    """Which accounts and regions the report did not read completely: its `coverage`
    section when it has one (a backup needs its owned-backups and clusters cells read),
    else its `errors[]` (any entry for that account and region, or for the whole account)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        coverage = document.get("coverage")
        self.read: set[tuple[str, str, str]] | None = None
        self.errors: set[tuple[str, str]] = set()
        if isinstance(coverage, dict) and isinstance(coverage.get("read"), list):
            self.read = {
                (str(c.get("account_id")), str(c.get("region")), str(c.get("listing")))
                for c in coverage["read"]
                if isinstance(c, dict)
            }
        for error in document.get("errors") or []:
            if isinstance(error, dict):
                self.errors.add((str(error.get("account_id")), str(error.get("region"))))

    def reason(self, account_id: str, region: str) -> str | None:
        if self.read is not None:
            wanted = [(account_id, region, listing) for listing in ("owned", "clusters")]
            if all(cell in self.read for cell in wanted):
                return None
        elif not any(
            account in (account_id, UNKNOWN_ACCOUNT)
            and (where == region or where in WHOLE_ACCOUNT_REGIONS)
            for account, where in self.errors
        ):
            return None
        return f"the report did not read account {account_id} in {region} completely"


def exemption_reason(policy: Policy | None, finding: Mapping[str, Any], today: date) -> str | None:
    if policy is None:
        return None
    for exemption in policy.exemptions:
        covers = exemption.covers(finding["rule"], finding["backup_id"], finding["cluster_id"])
        if covers and exemption.expires >= today:
            return f"under a current exemption until {exemption.expires.isoformat()}"
    return None

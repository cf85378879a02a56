"""What one run's import into Security Hub did, and the lines the digest and the command
line show of it. Pure: no AWS here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .digest_sections import clean, plural

PROBLEMS_SHOWN = 100
IMPORT = "BatchImportFindings"
# Where GetFindings failed (or the deadline cut it), nothing is archived: fail closed.
NOT_ARCHIVED = "not archived: could not read Security Hub's findings back"


@dataclass(frozen=True)
class ImportProblem:
    """Findings that did not reach Security Hub in one account and region, and why."""

    account_id: str
    region: str
    code: str
    message: str
    findings: int  # how many documents this problem kept out
    operation: str = IMPORT  # or GetFindings: not reconciled there

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "code": self.code,
            "message": self.message,
            "findings": self.findings,
            "operation": self.operation,
        }


@dataclass(frozen=True)
class SecurityHubOutcome:
    """What one run's import did: documents accepted (active and archived), calls, problems."""

    imported: int
    archived: int
    calls: int
    problems: tuple[ImportProblem, ...] = ()
    # Reconciled with Security Hub: its ACTIVE findings were read back (GetFindings) in the
    # accounts and regions read completely, and those this run no longer reports archived.
    reconciled: bool = False

    @property
    def refused(self) -> int:
        return sum(problem.findings for problem in self.problems)


def security_hub_lines(outcome: SecurityHubOutcome | None) -> list[str]:
    """What the import into Security Hub did, and every account and region it could not reach."""
    if outcome is None:
        return []
    unread = sum(1 for problem in outcome.problems if problem.operation != IMPORT)
    if outcome.reconciled:
        why = "reconciled with Security Hub: no longer found where this run read completely"
    elif unread:
        why = NOT_ARCHIVED
    else:
        why = "not reconciled: no account and region was read completely"
    lines = [
        "",
        f"Security Hub: {plural(outcome.imported, 'finding')} imported, "
        f"{outcome.archived:,} archived ({why})",
    ]
    if unread:
        lines.append(
            f"SECURITY HUB NOT RECONCILED in {plural(unread, 'account-region')}: "
            f"{NOT_ARCHIVED} there; the next run that reads them reconciles them"
        )
    if outcome.problems:
        lines.append(
            f"SECURITY HUB ERRORS ({len(outcome.problems):,}): "
            f"{plural(outcome.refused, 'finding')} did not reach Security Hub"
        )
    for problem in outcome.problems[:PROBLEMS_SHOWN]:
        lines.append(
            f"  {clean(problem.account_id, 20)} {clean(problem.region, 30)} "
            f"{clean(problem.operation, 40)}: {clean(problem.code, 64)}: "
            f"{clean(problem.message, 300)} "
            + (
                f"({plural(problem.findings, 'finding')})"
                if problem.operation == IMPORT
                else "(not reconciled)"
            )
        )
    if len(outcome.problems) > PROBLEMS_SHOWN:
        lines.append(f"  ... {len(outcome.problems) - PROBLEMS_SHOWN:,} more in the function's log")
    return lines

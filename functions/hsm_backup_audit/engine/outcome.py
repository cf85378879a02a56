"""A run's outcome: what it covered (Scope), the Report, and the verdict. Pure: no AWS here.

The audit (audit.py) builds a Report; merge.py and steps.py combine partial ones, with the
same verdict and error order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ..constants import Severity, Status
from .coverage import Coverage
from .model import Finding, ScanError

if TYPE_CHECKING:
    from .changes import Changes


@dataclass(frozen=True)
class Scope:
    regions: tuple[str, ...]
    account_id: str
    accounts: tuple[str, ...]
    include_shared: bool
    policy_source: str = "defaults"
    # `--region all`: per account, the CloudHSM regions skipped as not enabled for it
    regions_not_enabled: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # With an organization: its accounts not audited for their state (SUSPENDED,
    # PENDING_CLOSURE...), as (account id, state), sorted by account id
    accounts_skipped: tuple[tuple[str, str], ...] = ()


@dataclass
class Report:
    status: Status
    generated_at: datetime
    scope: Scope
    backups_scanned: int
    findings: list[Finding]
    errors: list[ScanError]
    by_region: dict[str, int] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    # Set by the run before delivery or printing: its id, and what changed since the baseline.
    run_id: str | None = None
    changes: Changes | None = None
    # The cells read completely, and those in scope not read (None: a report built by hand).
    coverage: Coverage | None = None

    @property
    def backups_noncompliant(self) -> int:
        """Distinct backups with a finding above INFO: by the run's identity of each backup
        (raw ARN, or raw id and region), so backups with no id at all count one by one."""
        return len(
            {
                f.backup_key if f.backup_key is not None else (f.account_id, f.region, f.backup_id)
                for f in self.findings
                if f.backup_id is not None and f.severity > Severity.INFO
            }
        )

    @property
    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return dict(sorted(counts.items()))

    def breakdown(self, attribute: str) -> dict[str, tuple[int, int]]:
        """Per region (`region`) or account (`account_id`): (backups scanned, findings).

        Every region and account in scope is listed, zeros included."""
        if attribute == "region":
            names, scanned = self.scope.regions, self.by_region
        else:
            names, scanned = self.scope.accounts, self.by_account
        findings: dict[str, int] = dict.fromkeys([*names, *scanned], 0)
        for finding in self.findings:
            name = getattr(finding, attribute)
            findings[name] = findings.get(name, 0) + 1
        return {name: (scanned.get(name, 0), findings[name]) for name in sorted(findings)}

    @property
    def highest_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)


def verdict(findings: Iterable[Finding], errors: Sequence[ScanError]) -> Status:
    """INCOMPLETE when anything could not be read (it wins: never "compliant" unseen), else
    NON_COMPLIANT when a finding is above INFO, else COMPLIANT."""
    if errors:
        return Status.INCOMPLETE
    if any(f.severity > Severity.INFO for f in findings):
        return Status.NON_COMPLIANT
    return Status.COMPLIANT


def error_order(error: ScanError) -> tuple[str, str, str, str]:
    """The order errors are reported in, whatever order they happened in."""
    return (error.account_id, error.region, error.operation, error.code)

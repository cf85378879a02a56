"""Coverage: which cells (account, region, listing) a run read completely. Pure: no AWS.

Every verdict that rests on absence (a finding RESOLVED or archived, a run COMPLIANT, "nothing
in this region") decides only over cells read completely. A cell is read completely when its
listing ended with its last page and every page was folded; a cell in scope that was not is
in `not_read` with the error entry that says why. A cell for which no error entry says why
gets one of its own (`NOT_READ_CODE`), so the run is INCOMPLETE: never a silent gap.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..constants import Rule
from .model import Finding, ScanError

CLUSTERS, OWNED, SHARED = "clusters", "owned", "shared"
LISTINGS = (CLUSTERS, OWNED, SHARED)
UNKNOWN_ACCOUNT = "unknown"
WHOLE_ACCOUNT = "global"  # the region of an account-wide error (AssumeRole, identity)
DESCRIBE_REGIONS = "DescribeRegions"  # names the home region, blinds every region
NOT_READ_OPERATION = "Coverage"
NOT_READ_CODE = "NotRead"
NOT_READ_MESSAGE = "no listing of this cell was read completely, and no error entry says why"

Cell = tuple[str, str, str]  # account id, region, listing
# Rules judged over a cluster's listing: cluster-level rules need the clusters cell, and
# stale-cluster (freshness from the newest owned backup) the owned cell as well.
CLUSTER_RULES = {Rule.RETENTION_POLICY: (CLUSTERS,), Rule.STALE_CLUSTER: (CLUSTERS, OWNED)}


def listings(include_shared: bool) -> tuple[str, ...]:
    return LISTINGS if include_shared else (CLUSTERS, OWNED)


def home_listing(rule: str, shared: bool, backup_id: Any) -> str:
    """The listing a finding comes from (the one a partial must have read to hold it)."""
    if shared:
        return SHARED
    return CLUSTERS if backup_id is None else OWNED


def cells_deciding(rule: str, shared: bool, backup_id: Any) -> tuple[str, ...]:
    """The listings whose complete read decides whether this finding is still there."""
    if shared:
        return (SHARED,)
    if rule in CLUSTER_RULES:
        return CLUSTER_RULES[Rule(rule)]
    if rule == Rule.OVERDUE:
        return (OWNED, CLUSTERS)  # retention and "the newest backup is kept" need both
    return (OWNED,) if backup_id is not None else (CLUSTERS,)


@dataclass(frozen=True)
class NotRead:
    account_id: str
    region: str
    listing: str
    error: ScanError

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "listing": self.listing,
            "error": self.error.to_dict(),
        }


@dataclass(frozen=True)
class Coverage:
    """The cells read completely, and those in scope not read (each with its error).

    `backups` and `clusters` (in memory only, None when unknown, e.g. after a merge): what
    the read cells listed, by (account, region, displayed id), for the resolved reasons."""

    read: frozenset[Cell]
    not_read: tuple[NotRead, ...] = ()
    overlaps: tuple[tuple[str, str], ...] = ()  # merge: (account, region) read by several parts
    backups: Collection[int] | None = field(default=None, compare=False, repr=False)
    clusters: frozenset[tuple[str, str, str]] | None = field(
        default=None, compare=False, repr=False
    )

    def read_completely(self, account_id: str, region: str, listing: str) -> bool:
        return (account_id, region, listing) in self.read

    def decides(self, finding: Finding | Mapping[str, Any]) -> bool:
        """Does this run's reading decide whether the finding is (still) there?"""
        account_id: Any
        region: Any
        if isinstance(finding, Finding):
            rule, shared, backup_id = str(finding.rule), finding.shared, finding.backup_id
            account_id, region = finding.account_id, finding.region
        else:
            rule, shared = str(finding.get("rule")), finding.get("shared") is True
            backup_id, account_id = finding.get("backup_id"), finding.get("account_id")
            region = finding.get("region")
        if not isinstance(account_id, str) or not isinstance(region, str):
            return False
        return all(
            (account_id, region, listing) in self.read
            for listing in cells_deciding(rule, shared, backup_id)
        )

    def region_read(self, account_id: str, region: str, include_shared: bool) -> bool:
        """Every listing of this account and region was read completely."""
        return all((account_id, region, k) in self.read for k in listings(include_shared))

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "read": [{"account_id": a, "region": r, "listing": k} for a, r, k in sorted(self.read)],
            "not_read": [entry.to_dict() for entry in self.not_read],
        }
        if self.overlaps:
            document["overlaps"] = [{"account_id": a, "region": r} for a, r in self.overlaps]
        return document


def backup_mark(account_id: str, region: str, backup_id: str) -> int:
    """One 64-bit int per listed backup (in memory only, for "backup deleted"): a collision
    can only make a deleted backup's finding read "fixed", both resolved alike."""
    return hash((account_id, region, backup_id))


class _Explainer:
    """Finds the error entry that says why a cell was not read."""

    def __init__(self, errors: Sequence[ScanError]) -> None:
        self.exact: dict[Cell, ScanError] = {}
        self.region: dict[tuple[str, str], ScanError] = {}
        self.account: dict[str, ScanError] = {}
        for error in errors:  # the first in report order wins
            if error.region == WHOLE_ACCOUNT or error.operation == DESCRIBE_REGIONS:
                self.account.setdefault(error.account_id, error)
            elif error.listing:
                self.exact.setdefault((error.account_id, error.region, error.listing), error)
            else:
                self.region.setdefault((error.account_id, error.region), error)

    def why(self, cell: Cell) -> ScanError | None:
        return (
            self.exact.get(cell)
            or self.region.get(cell[:2])
            or self.account.get(cell[0])
            or self.account.get(UNKNOWN_ACCOUNT)
        )

    def blocks(self, cell: Cell) -> bool:
        """An error entry for this very listing (or its whole region, or account)."""
        return cell in self.exact or cell[:2] in self.region or cell[0] in self.account


def derive(
    accounts: Iterable[str],
    regions: Sequence[str],
    include_shared: bool,
    read: Iterable[Cell],
    errors: Sequence[ScanError],
    not_enabled: Mapping[str, Iterable[str]] | None = None,
) -> tuple[Coverage, list[ScanError]]:
    """Coverage over the product accounts x regions x listings (less the regions not enabled
    for an account), and the error entries to add for cells no error entry explains."""
    explain = _Explainer(errors)
    kinds = listings(include_shared)
    done = {cell for cell in read if cell[2] in kinds and not explain.blocks(cell)}
    skipped = {a: set(names) for a, names in (not_enabled or {}).items()}
    missing: list[NotRead] = []
    added: list[ScanError] = []
    wanted = [a for a in dict.fromkeys(accounts) if a != UNKNOWN_ACCOUNT]
    for account_id in wanted:
        for region in regions:
            if region in skipped.get(account_id, ()):
                continue
            for kind in kinds:
                cell = (account_id, region, kind)
                if cell in done:
                    continue
                error = explain.why(cell)
                if error is None:
                    error = ScanError(
                        account_id,
                        region,
                        NOT_READ_OPERATION,
                        NOT_READ_CODE,
                        NOT_READ_MESSAGE,
                        kind,
                    )
                    added.append(error)
                missing.append(NotRead(account_id, region, kind, error))
    return Coverage(frozenset(done), tuple(missing)), added


def scope_accounts(accounts: Iterable[str], errors: Iterable[ScanError]) -> list[str]:
    """The accounts a run tried: those it audited, and those an error entry names."""
    return list(dict.fromkeys([*accounts, *(e.account_id for e in errors)]))

"""Merging partial reports into one report: the report one scan of every account would give.

Pure: partial reports in (read by partial_reader.py), a Report and its PartialInfo out.
- The result does not depend on the order of the partials (they are put in one order by
  their content first).
- A cell (account, region) read by several partials is taken from the newest read (the
  part's `generated_at`; a tie goes to the lowest SHA-256 of the document), and the report
  notes the overlap (`coverage.overlaps`). A part that read no listing of a cell it names
  loses that cell to any part that read one.
- The merged scope is the product of the accounts and regions the parts name: each of its
  cells no part read completely is in `coverage.not_read` with an error entry (INCOMPLETE).
- A backup seen only as shared in one partial and as owned in another is the owner's:
  the shared view, its count and its findings are dropped. Seen only as shared by
  several partials, the view of the lowest (account, region) is kept, as in one scan.
- An account the plan asked for that no partial covers is an error entry (INCOMPLETE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from .audit import Report, Scope, error_order, verdict
from .coverage import derive, scope_accounts
from .model import Finding, ScanError
from .partial import GLOBAL, Cell, CellData, Identity, PartialInfo, SharedView
from .partial_reader import MergeError, Partial, read_partial, read_partial_text

__all__ = ["MergeError", "Merged", "Partial", "merge", "read_partial", "read_partial_text"]

NO_PARTIAL_OPERATION = "AuditBatch"
NO_PARTIAL_CODE = "NoPartialReport"
NO_PARTIAL_MESSAGE = (
    "the batch that audits this account failed, timed out or never ran: no partial report"
)


@dataclass
class Merged:
    report: Report
    info: PartialInfo


def _ordered(names: Iterable[str], order: Sequence[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(names))
    rank: dict[str, int] = {}
    for name in order:
        rank.setdefault(name, len(rank))
    return tuple(sorted(unique, key=lambda name: rank.get(name, len(rank))))


def _owners(partials: Sequence[Partial]) -> tuple[dict[Cell, int], list[Cell]]:
    """Which partial each cell is taken from: among the parts that read a listing of it,
    else among those that name it, the newest (ties: the lowest digest, as sorted). And
    the cells more than one part read."""
    owner: dict[Cell, int] = {}
    readers: dict[Cell, list[int]] = {}
    for number, partial in enumerate(partials):
        for account, region, _listing in partial.coverage.read:
            numbers = readers.setdefault((account, region), [])
            if not numbers or numbers[-1] != number:
                numbers.append(number)
    for number, partial in enumerate(partials):
        for cell in partial.info.cells:
            candidates = readers.get(cell)
            if candidates is not None and number not in candidates:
                continue
            current = owner.get(cell)
            if current is None or partials[number].generated_at > partials[current].generated_at:
                owner[cell] = number
    for cell, numbers in readers.items():
        if cell not in owner:  # read, but not among the part's cells: still its own
            owner[cell] = max(numbers, key=lambda n: (partials[n].generated_at, -n))
    overlaps = sorted(cell for cell, numbers in readers.items() if len(numbers) > 1)
    return owner, overlaps


def _choose_views(
    partials: Sequence[Partial], owner: dict[Cell, int]
) -> tuple[list[SharedView], list[SharedView]]:
    """(kept, dropped) shared views: the owner's view wins; among shared views only, the
    lowest (account, region), as the engine keeps it."""
    owned: set[Identity] = set()
    for cell, number in owner.items():
        owned.update(partials[number].info.cells[cell].owned)
    kept: dict[Identity, SharedView] = {}
    dropped: list[SharedView] = []
    for number, partial in enumerate(partials):
        for view in partial.info.shared_only:
            if owner.get((view.account_id, view.region)) != number:
                continue  # its cell is taken from another partial, with its own views
            other = kept.get(view.backup)
            if view.backup in owned:
                dropped.append(view)
            elif other is None:
                kept[view.backup] = view
            elif (other.account_id, other.region) <= (view.account_id, view.region):
                dropped.append(view)
            else:
                dropped.append(other)
                kept[view.backup] = view
    return list(kept.values()), dropped


def merge(
    partials: Sequence[Partial],
    *,
    planned_accounts: Sequence[str] = (),
    generated_at: datetime | None = None,
    errors: Sequence[ScanError] = (),
    empty_scope: Scope | None = None,
) -> Merged:
    """One report from partial reports. `planned_accounts`: every account the plan asked
    for; those no partial covers become error entries. `errors`: more error entries (the
    plan's own). `empty_scope`: the scope when there is no partial at all."""
    if not partials and empty_scope is None:
        raise MergeError("no partial report to merge")
    # One order whatever the order given: by content (then by name, for identical parts).
    partials = sorted(partials, key=lambda p: (p.digest, p.source))
    for partial in partials[1:]:
        if partial.info.policy_sha256 != partials[0].info.policy_sha256:
            first, second = sorted((partial.source, partials[0].source))
            raise MergeError(
                f"{second}: judged under another policy than {first}: "
                "partials can only be merged when one policy judged them all"
            )
    owner, overlaps = _owners(partials)
    kept_views, dropped_views = _choose_views(partials, owner)
    cells = {cell: partials[n].info.cells[cell] for cell, n in owner.items()}
    cells = {cell: CellData(data.backups_scanned, list(data.owned)) for cell, data in cells.items()}
    for view in dropped_views:
        cells[(view.account_id, view.region)].backups_scanned -= 1
    dropped = {id(f) for view in dropped_views for f in view.findings}
    dropped -= {id(f) for view in kept_views for f in view.findings}

    findings: list[Finding] = []
    entries: dict[tuple[str, ...], ScanError] = {_error_key(e): e for e in errors}
    for number, partial in enumerate(partials):
        findings.extend(
            f
            for f in partial.findings
            if owner.get((f.account_id, f.region)) == number and id(f) not in dropped
        )
        for error in partial.errors:
            cell = (error.account_id, error.region)
            if error.region == GLOBAL or owner.get(cell, number) == number:
                entries.setdefault(_error_key(error), error)
    covered = {account for p in partials for account in p.info.accounts}
    for account in dict.fromkeys(planned_accounts):
        if account not in covered:
            error = ScanError(
                account, GLOBAL, NO_PARTIAL_OPERATION, NO_PARTIAL_CODE, NO_PARTIAL_MESSAGE
            )
            entries.setdefault(_error_key(error), error)

    order = list(planned_accounts) or _part_order(partials)
    accounts = _ordered((a for p in partials for a in p.scope.accounts), order)
    base = partials[0].scope if partials else empty_scope
    assert base is not None
    if not partials:  # nothing was read: the scope still names the planned accounts
        accounts = _ordered(planned_accounts, order)
    scope = Scope(
        regions=tuple(dict.fromkeys(r for p in partials for r in p.scope.regions)) or base.regions,
        account_id=accounts[0] if accounts else "unknown",
        accounts=accounts,
        include_shared=base.include_shared,
        policy_source=base.policy_source,
        # the union over the parts (a state is the same in every part that lists it)
        accounts_skipped=tuple(sorted({a for p in partials for a in p.scope.accounts_skipped})),
        regions_not_enabled=_not_enabled(partials),
    )
    read = {
        (account, region, listing)
        for cell, number in owner.items()
        for account, region, listing in partials[number].coverage.read
        if (account, region) == cell
    }
    errors_list = sorted(entries.values(), key=_error_key)
    coverage, unexplained = derive(
        scope_accounts(scope.accounts, errors_list),
        scope.regions,
        scope.include_shared,
        read,
        errors_list,
        dict(scope.regions_not_enabled),
    )
    earlier = {cell for p in partials for cell in p.coverage.overlaps}
    coverage = replace(coverage, overlaps=tuple(sorted(earlier.union(overlaps))))
    report = _report(scope, cells, findings, [*errors_list, *unexplained])
    report.coverage = coverage
    moments = [p.generated_at for p in partials]
    report.generated_at = generated_at or min(moments, default=datetime.now(UTC))
    report.duration_seconds = max((p.duration_seconds for p in partials), default=0.0)
    info = PartialInfo(
        policy_sha256=partials[0].info.policy_sha256 if partials else "",
        accounts=_ordered(
            [*(a for p in partials for a in p.info.accounts), *planned_accounts], order
        ),
        cells=cells,
        shared_only=kept_views,
    )
    return Merged(report, info)


def _error_key(error: ScanError) -> tuple[str, ...]:
    return (
        error.account_id,
        error.region,
        error.operation,
        error.code,
        error.message,
        error.listing or "",
    )


def _part_order(partials: Sequence[Partial]) -> list[str]:
    """Without a plan: each account at its earliest place in any part (the caller's own
    account first, as every shard lists it first), ties by account id."""
    rank: dict[str, int] = {}
    for partial in partials:
        for place, account in enumerate(partial.info.accounts):
            rank[account] = min(rank.get(account, place), place)
    return sorted(rank, key=lambda account: (rank[account], account))


def _not_enabled(partials: Sequence[Partial]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per account, the regions some part skipped as not enabled for it."""
    skipped: dict[str, set[str]] = {}
    for partial in partials:
        for account, names in partial.scope.regions_not_enabled:
            skipped.setdefault(account, set()).update(names)
    return tuple((account, tuple(sorted(names))) for account, names in sorted(skipped.items()))


def _report(
    scope: Scope, cells: dict[Cell, CellData], findings: list[Finding], errors: list[ScanError]
) -> Report:
    """The totals, order and status exactly as Audit.finish makes them."""
    by_region: dict[str, int] = {}
    by_account: dict[str, int] = dict.fromkeys(scope.accounts, 0)
    for (account, region), data in cells.items():
        if data.backups_scanned:
            by_region[region] = by_region.get(region, 0) + data.backups_scanned
            by_account[account] = by_account.get(account, 0) + data.backups_scanned
    findings.sort(key=Finding.sort_key)
    errors.sort(key=error_order)
    return Report(
        status=verdict(findings, errors),
        generated_at=datetime.min,
        scope=scope,
        backups_scanned=sum(data.backups_scanned for data in cells.values()),
        findings=findings,
        errors=errors,
        by_region=dict(sorted(by_region.items())),
        by_account=dict(sorted(by_account.items())),
    )

"""Partial reports: the JSON report of one batch of accounts, plus what merging needs.

A batch sees only its own accounts. A backup owned by one account and shared with another
may be judged in two batches: as owned by the owner's, as shared by the other's. One scan
of both accounts keeps the owner's view (and counts the backup once), so a partial carries
the identity of every backup it saw as owned, and of every backup it saw only as shared
(with the findings of that shared view): the merge drops a shared view whose backup another
batch saw as owned. Counts are kept per account and region ("cell"), so that a cell read by
two partials (every shard of a command-line scan reads the caller's own account) counts once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .audit import Audit, Report
from .model import MISSING, Finding, safe_text
from .policy import Policy
from .report import to_document

PARTIAL_KEY = "partial"
PARTIAL_VERSION = 1
GLOBAL = "global"  # the region of an error entry about a whole account (AssumeRole)

Cell = tuple[str, str]  # account id, region
# A backup's identity: (BackupArn,), or (region, BackupId) when the answer had no ARN.
Identity = tuple[str, ...]


def backup_identity(raw: Any, region: str) -> Identity | None:
    """The raw BackupArn, or the raw BackupId in its region; None when neither is there
    (such a backup is never taken for another one)."""
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    arn = item.get("BackupArn")
    if isinstance(arn, str) and arn:
        return (arn,)
    backup_id = item.get("BackupId")
    if isinstance(backup_id, str) and backup_id:
        return (region, backup_id)
    return None


def _backup_id_of(raw: Any) -> str:
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return safe_text(item.get("BackupId")) or MISSING


def policy_fingerprint(policy: Policy) -> str:
    """Partials judged under different policies cannot be merged: this tells them apart."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()


@dataclass
class CellData:
    backups_scanned: int = 0
    owned: list[Identity] = field(default_factory=list)


@dataclass
class SharedView:
    """A backup this partial saw only as shared with `account_id`, and its findings."""

    account_id: str
    region: str
    backup: Identity
    findings: list[Finding] = field(default_factory=list)
    backup_id: str = ""  # as the findings name it


@dataclass
class PartialInfo:
    policy_sha256: str
    accounts: tuple[str, ...]  # every account the batch was asked to audit
    cells: dict[Cell, CellData]
    shared_only: list[SharedView]


@dataclass
class _Views:
    backup_id: str  # as the engine names it in findings
    owned: Cell | None = None
    shared: list[Cell] = field(default_factory=list)


class PartialAudit(Audit):
    """The engine's own Audit, recording where it saw each backup (owned or shared)."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        super().__init__(policy, now)
        self._views: dict[Identity, _Views] = {}
        self._nameless: dict[Cell, int] = {}

    def add_backups(self, account_id: str, region: str, shared: bool, items: Iterable[Any]) -> None:
        cell = (account_id, region)
        for raw in items:
            # One at a time: an item the engine could not fold is not recorded either.
            super().add_backups(account_id, region, shared, (raw,))
            identity = backup_identity(raw, region)
            if identity is None:
                self._nameless[cell] = self._nameless.get(cell, 0) + 1
                continue
            views = self._views.get(identity)
            if views is None:
                views = self._views[identity] = _Views(_backup_id_of(raw))
            if shared:
                views.shared.append(cell)
            elif views.owned is None:
                views.owned = cell

    def partial_info(self, report: Report, accounts: Sequence[str]) -> PartialInfo:
        """What a merge needs besides `report`, which this audit produced."""
        cells: dict[Cell, CellData] = {
            (account, region): CellData() for account in accounts for region in report.scope.regions
        }
        for cell, count in self._nameless.items():
            cells.setdefault(cell, CellData()).backups_scanned += count
        shared_only: list[SharedView] = []
        for identity, views in self._views.items():
            if views.owned is not None:
                data = cells.setdefault(views.owned, CellData())
                data.owned.append(identity)
                data.backups_scanned += 1
                continue
            account_id, region = views.shared[0]  # the view the engine kept: the first
            cells.setdefault((account_id, region), CellData()).backups_scanned += 1
            shared_only.append(SharedView(account_id, region, identity, [], views.backup_id))
        _attach_findings(shared_only, report.findings)
        return PartialInfo(
            policy_sha256=policy_fingerprint(self.policy),
            accounts=tuple(dict.fromkeys(accounts)),
            cells=cells,
            shared_only=shared_only,
        )


class PartialRecorder:
    """An `audit_factory` for the scanner that keeps the PartialAudit it made."""

    def __init__(self) -> None:
        self.audit: PartialAudit | None = None

    def __call__(self, policy: Policy, now: datetime) -> PartialAudit:
        self.audit = PartialAudit(policy, now)
        return self.audit

    def partial_info(self, report: Report, accounts: Sequence[str] | None = None) -> PartialInfo:
        if self.audit is None:
            raise RuntimeError("no scan ran with this recorder")
        chosen = requested_accounts(report) if accounts is None else accounts
        return self.audit.partial_info(report, chosen)


def _attach_findings(views: list[SharedView], findings: list[Finding]) -> None:
    """A shared view's findings: shared, in its cell, about its backup id."""
    by_backup: dict[tuple[str, str, str], list[SharedView]] = {}
    for view in views:
        by_backup.setdefault((view.account_id, view.region, view.backup_id), []).append(view)
    for finding in findings:
        if not finding.shared or finding.backup_id is None:
            continue
        for view in by_backup.get((finding.account_id, finding.region, finding.backup_id), ()):
            view.findings.append(finding)


def requested_accounts(report: Report) -> tuple[str, ...]:
    """The accounts a scan tried: those it audited, and those it could not reach."""
    failed = [e.account_id for e in report.errors if e.region == GLOBAL]
    return tuple(dict.fromkeys([*report.scope.accounts, *failed]))


def partial_document(report: Report, info: PartialInfo) -> dict[str, Any]:
    """The report document (`--format json`) with the `partial` key added."""
    return {**to_document(report), PARTIAL_KEY: partial_section(report, info)}


def _identity_json(identity: Identity) -> list[str]:
    return list(identity)


def partial_section(report: Report, info: PartialInfo) -> dict[str, Any]:
    """The `partial` key of the document; finding references are indexes into `findings`."""
    index = {id(finding): number for number, finding in enumerate(report.findings)}
    return {
        "version": PARTIAL_VERSION,
        "policy_sha256": info.policy_sha256,
        "accounts": list(info.accounts),
        "cells": [
            {
                "account_id": account,
                "region": region,
                "backups_scanned": data.backups_scanned,
                "owned": [_identity_json(identity) for identity in data.owned],
            }
            for (account, region), data in info.cells.items()
        ],
        "shared_only": [
            {
                "account_id": view.account_id,
                "region": view.region,
                "backup": _identity_json(view.backup),
                "findings": sorted(index[id(f)] for f in view.findings if id(f) in index),
            }
            for view in info.shared_only
        ],
    }

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .audit import Audit, Report
from .model import BackupRecord, Finding
from .policy import Policy
from .report import to_document

PARTIAL_KEY = "partial"
PARTIAL_VERSION = 1
GLOBAL = "global"  # the region of an error entry about a whole account (AssumeRole)

Cell = tuple[str, str]  # account id, region
# A backup's identity: its de-duplication key (128 bits over the raw BackupArn, or the raw
# BackupId and region), as 32 hex digits.
Identity = str


def identity_of(key: int) -> Identity:
    return f"{key:032x}"


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


@dataclass
class PartialInfo:
    policy_sha256: str
    accounts: tuple[str, ...]  # every account the batch was asked to audit
    cells: dict[Cell, CellData]
    shared_only: list[SharedView]


class PartialAudit(Audit):
    """The engine's own Audit, recording in which cell it saw each backup, owned or shared."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        super().__init__(policy, now)
        self._owned_in: dict[int, Cell] = {}
        self._shared_in: dict[int, Cell] = {}  # the lowest cell, as the engine keeps it
        self._nameless: dict[Cell, int] = {}

    def _add_backup(self, backup: BackupRecord) -> None:
        super()._add_backup(backup)  # an item the engine could not fold is not recorded
        cell = (backup.account_id, backup.region)
        key = backup.dedupe_key
        if key is None:
            self._nameless[cell] = self._nameless.get(cell, 0) + 1
        elif not backup.shared:
            self._owned_in.setdefault(key, cell)
        elif key not in self._shared_in or cell < self._shared_in[key]:
            self._shared_in[key] = cell

    def partial_info(self, report: Report, accounts: Sequence[str]) -> PartialInfo:
        """What a merge needs besides `report`, which this audit produced."""
        cells: dict[Cell, CellData] = {
            (account, region): CellData() for account in accounts for region in report.scope.regions
        }
        for cell, count in self._nameless.items():
            cells.setdefault(cell, CellData()).backups_scanned += count
        for key, cell in self._owned_in.items():
            data = cells.setdefault(cell, CellData())
            data.owned.append(identity_of(key))
            data.backups_scanned += 1
        views: dict[int, SharedView] = {}
        for key, cell in self._shared_in.items():
            if key in self._owned_in:
                continue
            cells.setdefault(cell, CellData()).backups_scanned += 1
            views[key] = SharedView(*cell, identity_of(key))
        for finding in report.findings:
            if finding.shared and finding.backup_key in views:
                views[finding.backup_key].findings.append(finding)
        return PartialInfo(
            policy_sha256=policy_fingerprint(self.policy),
            accounts=tuple(dict.fromkeys(accounts)),
            cells=cells,
            shared_only=list(views.values()),
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


def requested_accounts(report: Report) -> tuple[str, ...]:
    """The accounts a scan tried: those it audited, and those it could not reach."""
    failed = [e.account_id for e in report.errors if e.region == GLOBAL]
    return tuple(dict.fromkeys([*report.scope.accounts, *failed]))


def partial_document(report: Report, info: PartialInfo) -> dict[str, Any]:
    """The report document (`--format json`) with the `partial` key added."""
    return {**to_document(report), PARTIAL_KEY: partial_section(report, info)}


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
                "owned": data.owned,
            }
            for (account, region), data in info.cells.items()
        ],
        "backup_keys": [_key_text(f.backup_key) for f in report.findings],
        "shared_only": [
            {
                "account_id": view.account_id,
                "region": view.region,
                "backup": view.backup,
                "findings": sorted(index[id(f)] for f in view.findings if id(f) in index),
            }
            for view in info.shared_only
        ],
    }


def _key_text(key: int | None) -> str | None:
    """A finding's backup, for `backups_noncompliant`: its identity, or `~n` for the n-th
    backup with no identity (local to this partial), or None for a cluster finding."""
    if key is None:
        return None
    return identity_of(key) if key >= 0 else f"~{-key}"

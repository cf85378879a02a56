"""Carrying out a fix plan, and undoing it: the CloudHSM calls, each announced in the
journal before it is made and recorded after. Before each call the backup is re-read
(DescribeBackups with a backupIds filter) and skipped when it changed since the report; and
its cluster is read (DescribeClusters with a clusterIds filter, DescribeBackups with
clusterIds and states filters), so the cluster's newest READY backup is never touched, even
when the report did not mark it.

IAM: cloudhsm:DescribeBackups and cloudhsm:DescribeClusters always;
cloudhsm:ModifyBackupAttributes for never-expires (and its undo); cloudhsm:DeleteBackup with
--delete; cloudhsm:RestoreBackup for undo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.client import BaseClient

from ..engine.fix_checks import already_done, changed_reason, newest_ready, reread, undo_reason
from ..engine.model import BackupRecord
from ..engine.policy import Policy
from ..engine.remediation import LAST_RESTORE_POINT, MODIFY, Action
from .cloudhsm import (
    DEFAULT_LIMITS,
    ClientLimits,
    client_config,
    one_cluster_pages,
    ready_backup_pages,
)
from .errors import describe_exception
from .journal import (
    APPLIED,
    FAILED,
    NOT_UNDONE,
    SKIPPED,
    UNDONE,
    Journal,
    applied_actions,
    last_outcomes,
    started,
)
from .security_hub import AccountSessions

# Adaptive: botocore's standard retries plus a client-side rate limiter that slows down
# when the service throttles.
RETRY_MODE = "adaptive"
DEFAULT_CALLS_PER_SECOND = 5.0
UNDO_AFTER = "undo-after"
NOT_FOUND_CODES = frozenset({"CloudHsmResourceNotFoundException"})


@dataclass(frozen=True)
class Outcome:
    action: Action
    outcome: str  # applied, skipped, failed (apply); undone, not-undone, failed (undo)
    reason: str | None = None


@dataclass
class Caller:
    """Clients per account and region, at a bounded rate, under a deadline."""

    sessions: AccountSessions
    endpoint_url: str | None = None
    calls_per_second: float = DEFAULT_CALLS_PER_SECOND
    should_stop: Callable[[], bool] = lambda: False
    limits: ClientLimits = DEFAULT_LIMITS
    _clients: dict[tuple[str, str], BaseClient] = field(default_factory=dict, init=False)
    _last_call: float = field(default=0.0, init=False)
    _newest: dict[tuple[str, str, str], str | None] = field(default_factory=dict, init=False)

    def client(self, account_id: str, region: str) -> BaseClient:
        key = (account_id, region)
        if key not in self._clients:
            self._clients[key] = self.sessions(account_id).client(
                "cloudhsmv2",
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=client_config(retry_mode=RETRY_MODE, limits=self.limits),
            )
        return self._clients[key]

    def pace(self) -> None:
        wait = self._last_call + 1 / self.calls_per_second - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_call = time.monotonic()

    def describe(self, action: Action) -> BackupRecord | None:
        """The backup as it is now, or None when the API no longer lists it."""
        self.pace()
        answer = self.client(action.account_id, action.region).describe_backups(
            Filters={"backupIds": [action.backup_id]}
        )
        items = [b for b in answer.get("Backups") or [] if isinstance(b, dict)]
        found = [b for b in items if b.get("BackupId") == action.backup_id]
        return reread(action, found[0]) if found else None

    def newest_ready(self, action: Action) -> str | None:
        """The cluster's last restore point as it is now (listed once per cluster a run:
        `fix` never deletes it, so it does not move while the run goes on)."""
        key = (action.account_id, action.region, action.cluster_id)
        if key not in self._newest:
            client = self.client(action.account_id, action.region)
            self.pace()
            clusters = [
                c for page in one_cluster_pages(client, action.cluster_id, self._stop) for c in page
            ]
            backups = []
            for page in ready_backup_pages(client, action.cluster_id, self._stop):
                self.pace()
                backups.extend(page)
            self._newest[key] = newest_ready(action, clusters, backups, datetime.now(UTC))
        return self._newest[key]

    def _stop(self) -> bool:
        return self.should_stop()

    def call(self, operation: str, action: Action, **params: Any) -> dict[str, Any]:
        self.pace()
        client = self.client(action.account_id, action.region)
        answer: dict[str, Any] = getattr(client, operation)(BackupId=action.backup_id, **params)
        return answer


def _state(answer: dict[str, Any]) -> dict[str, Any]:
    backup = answer.get("Backup") if isinstance(answer, dict) else None
    if not isinstance(backup, dict):
        return {}
    keys = ("BackupState", "NeverExpires", "DeleteTimestamp")
    return {key: backup[key] for key in keys if key in backup}


def apply_plan(
    actions: Sequence[Action], caller: Caller, journal: Journal, policy: Policy
) -> list[Outcome]:
    """Each action once, in order; what the journal already records as applied is left."""
    done = last_outcomes(journal.entries, "after")
    begun = started(journal.entries)
    outcomes = []
    for action in actions:
        if done.get(action.key) == APPLIED:
            outcomes.append(Outcome(action, APPLIED, "applied by an earlier run (journal)"))
            continue
        outcomes.append(_apply_one(action, caller, journal, policy, action.key in begun))
    return outcomes


def _apply_one(
    action: Action, caller: Caller, journal: Journal, policy: Policy, begun: bool
) -> Outcome:
    if caller.should_stop():
        return Outcome(action, FAILED, "not started: the time budget (--max-seconds) ran out")
    try:
        backup = caller.describe(action)
        newest = caller.newest_ready(action) if backup is not None else None
    except Exception as exc:  # noqa: BLE001 - any failure is an outcome, never a crash
        code, message = describe_exception(exc)
        return Outcome(action, FAILED, f"re-read failed: {code}: {message}")
    if backup is None:
        return _record(journal, Outcome(action, SKIPPED, "the backup is no longer listed"))
    if begun and already_done(action, backup):  # an earlier run's call went through
        return _record(journal, Outcome(action, APPLIED, "applied by an earlier run (re-read)"))
    reason = changed_reason(action, backup, policy)
    if reason is not None:
        return _record(journal, Outcome(action, SKIPPED, f"changed since the report: {reason}"))
    if newest == action.backup_id:  # the report did not say so (older report), or it moved
        return _record(journal, Outcome(action, SKIPPED, f"now {LAST_RESTORE_POINT}"))
    journal.write("before", action.key, action=action.to_dict())
    try:
        if action.action == MODIFY:
            answer = caller.call("modify_backup_attributes", action, NeverExpires=False)
        else:
            answer = caller.call("delete_backup", action)
    except Exception as exc:  # noqa: BLE001
        code, message = describe_exception(exc)
        return _record(journal, Outcome(action, FAILED, f"{code}: {message}"))
    return _record(journal, Outcome(action, APPLIED), backup=_state(answer))


def _record(journal: Journal, outcome: Outcome, event: str = "after", **fields: Any) -> Outcome:
    journal.write(
        event, outcome.action.key, outcome=outcome.outcome, reason=outcome.reason, **fields
    )
    return outcome


def undo_journal(
    caller: Caller, journal: Journal, now: Callable[[], datetime] | None = None
) -> list[Outcome]:
    """Reverse what the journal applied: NeverExpires=true again, RestoreBackup while the
    backup is still PENDING_DELETION, last applied first (a backup modified and then deleted
    is restored before NeverExpires is set back). Each undo is journalled as well, so a
    rerun goes on where it stopped."""
    clock = now or (lambda: datetime.now(UTC))
    undone = last_outcomes(journal.entries, UNDO_AFTER)
    outcomes = []
    for action in reversed(applied_actions(journal.entries)):  # last applied, first undone
        if undone.get(action.key) == UNDONE:
            outcomes.append(Outcome(action, UNDONE, "undone by an earlier run (journal)"))
            continue
        outcomes.append(_undo_one(action, caller, journal, clock()))
    return outcomes


def _undo_one(action: Action, caller: Caller, journal: Journal, now: datetime) -> Outcome:
    if caller.should_stop():
        return Outcome(action, FAILED, "not started: the time budget (--max-seconds) ran out")
    try:
        backup = caller.describe(action)
    except Exception as exc:  # noqa: BLE001
        code, message = describe_exception(exc)
        return Outcome(action, FAILED, f"re-read failed: {code}: {message}")
    reason = undo_reason(action, backup, now)
    if reason is not None:
        outcome = UNDONE if reason.startswith("already undone") else NOT_UNDONE
        return _record(journal, Outcome(action, outcome, reason), UNDO_AFTER)
    journal.write("undo-before", action.key, action=action.to_dict())
    try:
        if action.action == MODIFY:
            caller.call("modify_backup_attributes", action, NeverExpires=True)
        else:
            caller.call("restore_backup", action)
    except Exception as exc:  # noqa: BLE001
        code, message = describe_exception(exc)
        if code in NOT_FOUND_CODES:
            gone = Outcome(action, NOT_UNDONE, "permanently deleted")
            return _record(journal, gone, UNDO_AFTER)
        return _record(journal, Outcome(action, FAILED, f"{code}: {message}"), UNDO_AFTER)
    return _record(journal, Outcome(action, UNDONE), UNDO_AFTER)

"""What `fix --apply` and `undo` decide from a backup as re-read just before acting. Pure:
the raw DescribeBackups item in, a reason (or None) out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..constants import STATE_DELETED, STATE_PENDING_DELETION, STATE_READY, Rule
from .model import BackupRecord, is_one_of, parse_backup, parse_cluster, shown
from .policy import Policy
from .remediation import DELETE, MODIFY, Action
from .rules import in_future


def reread(action: Action, raw: Any) -> BackupRecord:
    return parse_backup(raw, action.account_id, action.region, shared=False)


def changed_reason(action: Action, backup: BackupRecord, policy: Policy) -> str | None:
    """Why the backup as it is now must not be acted on (it changed since the report), or
    None when the report's reason to act still holds."""
    if backup.backup_ref != action.backup_id:
        return "the re-read returned another backup"
    if backup.cluster_ref != action.cluster_id:
        return f"its ClusterId is now {shown(backup.cluster_ref)}"
    if backup.state != STATE_READY:
        return f"its BackupState is now {shown(backup.state)}"
    if action.action == MODIFY:
        if backup.never_expires is not True:
            return "NeverExpires is no longer true"
        return None
    if backup.never_expires is not False:
        return "NeverExpires is now true or not reported (someone pinned it)"
    if Rule.MODE in action.rules and is_one_of(backup.mode, policy.allowed_modes):
        return f"its Mode is now {shown(backup.mode)}, which the policy allows"
    if Rule.HSM_TYPE in action.rules and is_one_of(backup.hsm_type, policy.allowed_hsm_types):
        return f"its HsmType is now {shown(backup.hsm_type)}, which the policy allows"
    return None


def already_done(action: Action, backup: BackupRecord) -> bool:
    """The action's effect is there already (a call whose answer was lost)."""
    if backup.backup_ref != action.backup_id:
        return False
    if action.action == MODIFY:
        return backup.state == STATE_READY and backup.never_expires is False
    return is_one_of(backup.state, (STATE_PENDING_DELETION,))


def undo_reason(action: Action, backup: BackupRecord | None, now: datetime) -> str | None:
    """Why an applied action can no longer (or need not) be undone, or None to undo it."""
    if backup is None or backup.backup_ref != action.backup_id:
        return "the backup no longer exists (permanently deleted)"
    if action.action == MODIFY:
        if backup.never_expires is True:
            return "already undone: NeverExpires is true"
        if backup.state != STATE_READY:
            return f"its BackupState is now {shown(backup.state)}"
        return None
    if action.action == DELETE:
        if backup.state == STATE_READY:
            return "already undone: the backup is READY"
        if backup.state != STATE_PENDING_DELETION:
            return f"its BackupState is now {shown(backup.state)}"
        if backup.delete_at is not None and backup.delete_at <= now:
            return f"past its 7 days: permanently deleted at {backup.delete_at:%Y-%m-%d %H:%M} UTC"
    return None


def newest_ready(
    action: Action, clusters: Iterable[Any], ready_backups: Iterable[Any], now: datetime
) -> str | None:
    """The raw id of the cluster's newest READY backup while the cluster is listed and not
    DELETED (its last restore point), or None: judged as the audit judges it (copies and
    timestamps from the future never count)."""
    listed = [parse_cluster(raw, action.account_id, action.region) for raw in clusters]
    if not any(
        c.cluster_ref == action.cluster_id and not is_one_of(c.state, (STATE_DELETED,))
        for c in listed
    ):
        return None
    newest: BackupRecord | None = None
    for raw in ready_backups:
        backup = reread(action, raw)
        if backup.state != STATE_READY or backup.is_copy or backup.created is None:
            continue
        if backup.cluster_ref != action.cluster_id or in_future(backup.created, now):
            continue
        if newest is None or backup.created > newest.created:  # type: ignore[operator]
            newest = backup
    return newest.backup_ref if newest is not None else None

"""ModifyBackupAttributes, DeleteBackup and RestoreBackup for moto's CloudHSM v2, which
has none of the three (moto 5.2.5): added to its response class, so they work under
`mock_aws` and over HTTP (the FleetServer) alike.

As AWS documents them (API reference and the user guide's "Deleting and restoring
backups"): DeleteBackup puts a backup in PENDING_DELETION with a DeleteTimestamp seven
days on; RestoreBackup brings a PENDING_DELETION backup back to READY within those seven
days; past them the backup is gone. Each answers `{"Backup": {...}}`. Errors use the
service's own codes (CloudHsmResourceNotFoundException, CloudHsmInvalidRequestException),
not moto's shortened ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudhsmv2.models import Backup
from moto.cloudhsmv2.responses import CloudHSMV2Response, DateTimeEncoder
from moto.core.exceptions import JsonRESTError

PENDING_DELETION_DAYS = 7


class _ServiceError(JsonRESTError):
    code = 400


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC


def _find(response: CloudHSMV2Response, params: dict[str, Any]) -> Backup:
    backup_id = str(params.get("BackupId"))
    backup = response.cloudhsmv2_backend.backups.get(backup_id)
    if backup is None or backup.backup_state == "DELETED":
        raise _ServiceError(
            "CloudHsmResourceNotFoundException", f"Backup {backup_id} was not found"
        )
    deleting_at: datetime | None = backup.delete_timestamp  # moto types it as None
    if backup.backup_state == "PENDING_DELETION" and deleting_at and deleting_at <= _now():
        backup.backup_state = "DELETED"  # its seven days are over: permanently deleted
        raise _ServiceError(
            "CloudHsmResourceNotFoundException", f"Backup {backup_id} was not found"
        )
    return backup


def _answer(backup: Backup) -> str:
    """Without an empty TagList (the model wants at least one tag; the user guide's
    delete-backup example shows none)."""
    item = {k: v for k, v in backup.to_dict().items() if not (k == "TagList" and not v)}
    return json.dumps({"Backup": item}, cls=DateTimeEncoder)


def modify_backup_attributes(self: CloudHSMV2Response) -> str:
    params = json.loads(self.body)
    backup = _find(self, params)
    never_expires = params.get("NeverExpires")
    if not isinstance(never_expires, bool):
        raise _ServiceError("CloudHsmInvalidRequestException", "NeverExpires must be a boolean")
    backup.never_expires = never_expires
    return _answer(backup)


def delete_backup(self: CloudHSMV2Response) -> str:
    backup = _find(self, json.loads(self.body))
    if backup.backup_state != "READY":
        raise _ServiceError(
            "CloudHsmInvalidRequestException",
            f"Backup {backup.backup_id} is {backup.backup_state}, not READY",
        )
    backup.backup_state = "PENDING_DELETION"
    backup.delete_timestamp = _now() + timedelta(days=PENDING_DELETION_DAYS)  # type: ignore[assignment]
    return _answer(backup)


def restore_backup(self: CloudHSMV2Response) -> str:
    backup = _find(self, json.loads(self.body))
    if backup.backup_state != "PENDING_DELETION":
        raise _ServiceError(
            "CloudHsmInvalidRequestException",
            f"Backup {backup.backup_id} is {backup.backup_state}, not PENDING_DELETION",
        )
    backup.backup_state = "READY"
    backup.delete_timestamp = None
    return _answer(backup)


def install() -> None:
    """Give moto's CloudHSM v2 the three calls (idempotent)."""
    for name, method in (
        ("modify_backup_attributes", modify_backup_attributes),
        ("delete_backup", delete_backup),
        ("restore_backup", restore_backup),
    ):
        setattr(CloudHSMV2Response, name, method)

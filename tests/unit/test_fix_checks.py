"""What the re-read decides, from the backup as the API answers it now. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.engine.fix_checks import already_done, changed_reason, reread, undo_reason
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.remediation import DELETE, MODIFY, Action

NOW = datetime(2026, 12, 6, tzinfo=UTC)
BACKUP, CLUSTER = "backup-aaaaaaaaaaa", "cluster-ccccccccccc"


def action(kind: str, *rules: str) -> Action:
    return Action(kind, rules[0], "111122223333", "us-east-1", CLUSTER, BACKUP, rules, "undo")


def raw(**changes: Any) -> dict[str, Any]:
    item = {
        "BackupId": BACKUP,
        "ClusterId": CLUSTER,
        "BackupState": "READY",
        "NeverExpires": False,
        "Mode": "NON_FIPS",
        "HsmType": "hsm1.medium",
        "CreateTimestamp": NOW - timedelta(days=40),
    }
    return {**item, **changes}


@pytest.mark.parametrize(
    ("kind", "rules", "now", "reason"),
    [
        (MODIFY, ("never-expires",), raw(NeverExpires=True), None),
        (MODIFY, ("never-expires",), raw(), "NeverExpires is no longer true"),
        (DELETE, ("mode",), raw(), None),
        (DELETE, ("mode",), raw(Mode="FIPS"), "its Mode is now FIPS, which the policy allows"),
        (DELETE, ("hsm-type",), raw(HsmType="hsm2m.medium"), "its HsmType is now hsm2m.medium"),
        (DELETE, ("overdue",), raw(NeverExpires=True), "NeverExpires is now true"),
        (DELETE, ("overdue",), raw(ClusterId="cluster-other"), "its ClusterId is now"),
        (DELETE, ("overdue",), raw(BackupState="PENDING_DELETION"), "its BackupState is now"),
    ],
)
def test_changed_since_the_report(
    kind: str, rules: tuple[str, ...], now: dict[str, Any], reason: str | None
) -> None:
    found = changed_reason(action(kind, *rules), reread(action(kind, *rules), now), Policy())
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_already_done_and_undo() -> None:
    deleted = raw(BackupState="PENDING_DELETION", DeleteTimestamp=NOW + timedelta(days=6))
    gone = raw(BackupState="PENDING_DELETION", DeleteTimestamp=NOW - timedelta(minutes=1))
    delete = action(DELETE, "mode")
    assert already_done(delete, reread(delete, deleted))
    assert not already_done(delete, reread(delete, raw()))
    assert undo_reason(delete, reread(delete, deleted), NOW) is None
    assert "past its 7 days" in str(undo_reason(delete, reread(delete, gone), NOW))
    assert "permanently deleted" in str(undo_reason(delete, None, NOW))
    assert str(undo_reason(delete, reread(delete, raw()), NOW)).startswith("already undone")
    modify = action(MODIFY, "never-expires")
    assert undo_reason(modify, reread(modify, raw()), NOW) is None
    assert str(undo_reason(modify, reread(modify, raw(NeverExpires=True)), NOW)).startswith(
        "already undone"
    )

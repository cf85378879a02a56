"""The fix journal: JSON lines, one written (and flushed to disk) before each call and one
after it with the outcome, so an interrupted run loses nothing and a rerun resumes.

Entries (`event`):
- `before`: `key`, `action` (the plan's action), `at`;
- `after`: `key`, `outcome` (applied, skipped, failed), `reason`, `backup` (state after), `at`;
- `undo-before` / `undo-after`: the same for `undo` (outcome undone, not-undone, failed).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..engine.model import safe_text
from ..engine.remediation import Action

APPLIED, SKIPPED, FAILED = "applied", "skipped", "failed"
UNDONE, NOT_UNDONE = "undone", "not-undone"


class JournalError(ValueError):
    """A journal that cannot be read or written (one line)."""


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Every complete entry; a missing file is an empty journal. A last line cut short
    by an interruption is ignored; any other line that is not an entry is an error."""
    shown = safe_text(str(path), 200)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(f"{shown}: {safe_text(exc.strerror, 100)}") from None
    if not stat.S_ISREG(mode):
        raise JournalError(f"{shown}: not a regular file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise JournalError(f"{shown}: cannot read it as UTF-8 text") from None
    lines = text.split("\n")
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if number == len(lines):  # the last line, without its newline: cut short
                break
            raise JournalError(f"{shown}: line {number} is not JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise JournalError(f"{shown}: line {number} is not a journal entry")
        entries.append(entry)
    return entries


class Journal:
    """Appends entries, each flushed and synced before the call it announces."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries = read_journal(path)
        try:
            if self.path.is_file():
                raw = self.path.read_bytes()
                if raw and not raw.endswith(b"\n"):  # a last line cut short: never complete
                    with open(self.path, "r+b") as file:
                        file.truncate(raw.rfind(b"\n") + 1)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            shown = safe_text(str(path), 200)
            raise JournalError(f"{shown}: {safe_text(exc.strerror, 100)}") from None

    def write(self, event: str, key: str, **fields: Any) -> None:
        entry = {"event": event, "key": key, **fields, "at": now_text()}
        self._file.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.entries.append(entry)

    def close(self) -> None:
        self._file.close()


def last_outcomes(entries: Iterable[dict[str, Any]], event: str) -> dict[str, str]:
    """Each key's last outcome for `after` or `undo-after`."""
    outcomes: dict[str, str] = {}
    for entry in entries:
        if entry.get("event") == event and isinstance(entry.get("outcome"), str):
            outcomes[entry["key"]] = entry["outcome"]
    return outcomes


def started(entries: Iterable[dict[str, Any]]) -> set[str]:
    return {entry["key"] for entry in entries if entry.get("event") == "before"}


def applied_actions(entries: list[dict[str, Any]]) -> list[Action]:
    """The actions the journal says were applied (or started: their call may have gone
    through), in the order they were first written, each once."""
    outcomes = last_outcomes(entries, "after")
    seen: dict[str, Action] = {}
    for entry in entries:
        key = entry["key"]
        if entry.get("event") != "before" or key in seen:
            continue
        if outcomes.get(key) not in (APPLIED, None, FAILED):
            continue
        fields = entry.get("action")
        try:
            seen[key] = action_from(fields)
        except (TypeError, ValueError):
            raise JournalError(f"the entry for {safe_text(key, 120)} holds no action") from None
    return list(seen.values())


def action_from(fields: Any) -> Action:
    if not isinstance(fields, dict):
        raise ValueError("no action")
    names = ("action", "rule", "account_id", "region", "cluster_id", "backup_id", "undo")
    values = {name: fields[name] for name in names}
    if not all(isinstance(value, str) for value in values.values()):
        raise ValueError("not text")
    return Action(**values, rules=tuple(str(rule) for rule in fields.get("rules") or ()))

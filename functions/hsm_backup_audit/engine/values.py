"""API values made safe to show: one printable line, a bounded length, a timestamp in UTC,
and a raw value quoted so that one that only looks documented never reads as one. Pure."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

MAX_VALUE_LENGTH = 128


def safe_text(value: Any, limit: int = MAX_VALUE_LENGTH) -> str:
    """One printable line: control and format characters dropped, length bounded."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        # Fast path (nearly every value): no C* character and no whitespace but " ",
        # so the character filter below would change nothing. It was 12% of a scan.
        cleaned = text
    else:
        cleaned = "".join(
            " " if ch in "\t\n\r\v\f\x85\u2028\u2029" else ch
            for ch in text
            if ch in "\t\n\r\v\f\x85\u2028\u2029" or unicodedata.category(ch)[0] != "C"
        )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 3, 0)] + "..."
    return cleaned


def as_utc(value: Any) -> datetime | None:
    """The one place a timestamp is normalised: naive means UTC (moto sends naive ones).

    A value that is no usable moment (out of range, NaN, garbage) is None: never a crash."""
    try:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str) and value:
            return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def shown(value: Any) -> str:
    """A raw API value for a message: as it is when it is already one clean line, else
    quoted with every hidden character escaped ("READY ", "DELETED\\u200b"), so a value
    that only looks documented never reads as one."""
    if isinstance(value, str) and value and safe_text(value) == value:
        return value
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (RecursionError, ValueError):  # nested deeper than the stack (a hostile answer)
        text = f"({type(value).__name__} nested too deeply to show)"
    return safe_text(text)


def is_one_of(value: Any, documented: Iterable[str]) -> bool:
    """The raw value is exactly one of these strings (never after cleaning it)."""
    return isinstance(value, str) and value in documented

"""Files that are no regular file, for the input-file refusals of --baseline and merge."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# (what the test names, how the refusal describes it)
SPECIAL_FILES = pytest.mark.parametrize(
    ("special", "kind"),
    [("/dev/zero", "a character device"), ("FIFO", "a named pipe (FIFO)"), ("DIR", "a directory")],
)


def special_path(special: str, tmp_path: Path) -> Path:
    """/dev/zero (endless), a FIFO no one writes to (a read would block), or a directory."""
    if special == "FIFO":
        os.mkfifo(tmp_path / "pipe")
        return tmp_path / "pipe"
    return tmp_path if special == "DIR" else Path(special)

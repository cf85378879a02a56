"""Reading one input file (the policy, a baseline report, a partial report): a regular
file, or `-` for standard input where the caller allows it. At most `limit` bytes are
read (one more to tell that there are more), and standard input only until the
deadline: a FIFO, a device or a directory is refused before it is read, so `/dev/zero`
is never read without bound and a FIFO with no writer never blocks the run."""

from __future__ import annotations

import json
import os
import select
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pydantic_core

from .model import safe_text

STDIN = "-"
SHOWN_PATH_LENGTH = 200
CHUNK_BYTES = 1024 * 1024


class InputFileError(ValueError):
    """An input file that cannot be read. Its message is one line naming the file."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_a_file(mode: int) -> str | None:
    """Why a file of this mode is no input file, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for is_kind, kind in _KINDS if is_kind(mode)), "a special file")


def _open_without_blocking(path: str, flags: int) -> int:
    # A FIFO swapped in after the stat check must not block the open either.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def shown_path(path: str | Path) -> str:
    return safe_text(str(path), SHOWN_PATH_LENGTH)


def read_input_bytes(
    path: str | Path,
    *,
    limit: int,
    what: str,
    noun: str,
    seconds: float | None = None,
    stdin: bool = False,
) -> bytes:
    """At most `limit` bytes of a regular file (or of standard input, when `stdin` and the
    path is `-`, read within `seconds`). `what` ("the policy") and `noun` ("a policy")
    word the InputFileError."""
    shown = shown_path(path)
    if stdin and str(path) == STDIN:
        raw = _read_stdin(limit, what, seconds)
    else:
        try:
            kind = not_a_file(os.stat(path).st_mode)
            if kind is None:
                with open(path, "rb", opener=_open_without_blocking) as file:
                    kind = not_a_file(os.fstat(file.fileno()).st_mode)
                    raw = b"" if kind else file.read(limit + 1)
        except OSError as exc:
            reason = safe_text(exc.strerror or type(exc).__name__, 100)
            raise InputFileError(f"{shown}: cannot read {what}: {reason}") from None
        if kind:
            raise InputFileError(f"{shown}: cannot read {what}: it is {kind}, not a regular file")
    if len(raw) > limit:
        raise InputFileError(f"{shown}: not {noun}: larger than {limit:,} bytes")
    return raw


def _read_stdin(limit: int, what: str, seconds: float | None) -> bytes:
    """Standard input (a pipe or a redirected file), up to limit + 1 bytes, never waiting
    past the deadline."""
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
    if stream is None:
        raise InputFileError(f"-: cannot read {what}: there is no standard input")
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # not a real file (an in-memory stream)
        return bytes(stream.read(limit + 1))
    try:
        mode = os.fstat(descriptor).st_mode
    except OSError as exc:
        reason = safe_text(exc.strerror or type(exc).__name__, 100)
        raise InputFileError(f"-: cannot read {what}: {reason}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        # a pipe or a redirected file, never a terminal, /dev/zero or a directory
        raise InputFileError(f"-: cannot read {what}: it is {not_a_file(mode)}, not a file or pipe")
    end = None if seconds is None else time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        wait = None if end is None else max(end - time.monotonic(), 0.0)
        try:
            ready, _, _ = select.select([descriptor], [], [], wait)
        except (OSError, ValueError):
            ready = [descriptor]  # select cannot watch it (a regular file): read it
        if not ready:
            raise InputFileError(f"-: cannot read {what}: nothing came within the time allowed")
        try:
            chunk = os.read(descriptor, min(CHUNK_BYTES, limit + 1 - size))
        except OSError as exc:
            reason = safe_text(exc.strerror or type(exc).__name__, 100)
            raise InputFileError(f"-: cannot read {what}: {reason}") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class JsonError(ValueError):
    """Text that is no JSON document this project reads (one line, without the file)."""


def parse_json(raw: str | bytes) -> Any:
    """The JSON document in `raw`, parsed by pydantic-core's parser, whose depth limit
    refuses a deeply nested document with an error (Python's json module would die on
    it with a RecursionError). NaN, Infinity and a number too long are refused too."""
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise JsonError("arrays or objects nested too deeply") from None
    try:  # only for the line and column a person can look up
        json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JsonError(f"not JSON (line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError):
        pass
    raise JsonError("not JSON")

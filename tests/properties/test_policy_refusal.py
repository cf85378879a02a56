"""Random invalid policies are refused before any AWS call: exit 2, one line, no traceback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import MAX_POLICY_BYTES, ExitCode
from hsm_backup_audit.engine.policy import Policy

from .strategies import policy_documents

KNOWN_KEYS = tuple(Policy.model_fields)
INT_KEYS = (
    "min_retention_days",
    "max_retention_days",
    "overdue_grace_days",
    "max_copy_age_days",
    "max_backup_gap_hours",
)
BOOL_KEYS = ("allow_never_expires", "include_shared")
# Strict types: what a lax parser would quietly coerce (true -> 1, "30" -> 30, 1 -> true).
not_an_int: st.SearchStrategy[Any] = st.sampled_from(
    [[], {}, "thirty", 30.5, None, [30], True, False, "30", 30.0, 3e1]
)
not_a_bool: st.SearchStrategy[Any] = st.sampled_from(
    [[], {}, "maybe", 2, None, 1, 0, "yes", "true", "false", 1.0]
)
bad_exemptions = st.sampled_from(
    [
        {
            "backup_id": "backup-x",
            "rules": ["no-such-rule"],
            "reason": "r",
            "expires": "2027-01-01",
        },
        {"backup_id": "backup-x", "rules": ["mode"], "reason": "r", "expires": "2027-13-45"},
        {"backup_id": "backup-x", "rules": ["mode"], "reason": "r", "expires": "soon"},
        {"backup_id": "backup-x", "rules": ["mode"], "reason": "r", "expires": 1830297600},
        {"rules": ["mode"], "reason": "r", "expires": "2027-01-01"},
        {
            "backup_id": "b",
            "cluster_id": "c",
            "rules": ["mode"],
            "reason": "r",
            "expires": "2027-01-01",
        },
        {"backup_id": "backup-x", "rules": [], "reason": "r", "expires": "2027-01-01"},
        {"backup_id": "backup-x", "rules": ["mode"], "reason": "", "expires": "2027-01-01"},
        {"backup_id": "backup-x", "rules": ["mode"], "expires": "2027-01-01", "note": "extra"},
        "not an object",
    ]
)


@st.composite
def invalid_policies(draw: st.DrawFn) -> str:
    """A valid policy with one thing broken, or a file that is no policy at all."""
    document: dict[str, Any] = draw(policy_documents(with_exemptions=False))
    breakage = draw(
        st.sampled_from(
            [
                *("key", "int", "range", "bool", "mode", "types", "exemption", "minmax", "shape"),
                *("text", "nested", "digits", "duplicate", "constant"),
            ]
        )
    )
    if breakage in {"nested", "digits", "duplicate", "constant"}:
        return draw(_valid_json_refused(breakage, document))
    if breakage == "key":
        odd = st.sampled_from(["x\ny", "\x1b[2J", "a\u2028b", "\u202eevil", "k" * 300])
        key = draw((st.text(min_size=1, max_size=30) | odd).filter(lambda k: k not in KNOWN_KEYS))
        document[key] = draw(st.integers() | st.text(max_size=10))
    elif breakage == "int":
        document[draw(st.sampled_from(INT_KEYS))] = draw(not_an_int)
    elif breakage == "range":
        document[draw(st.sampled_from(INT_KEYS))] = draw(st.sampled_from([-1, 100_000]))
    elif breakage == "bool":
        key = draw(st.sampled_from(["allow_never_expires", "include_shared"]))
        document[key] = draw(not_a_bool)
    elif breakage == "mode":
        wrong = draw(st.text(max_size=20).filter(lambda m: m not in {"FIPS", "NON_FIPS"}))
        document["allowed_modes"] = [*document["allowed_modes"], wrong]
    elif breakage == "types":
        document["allowed_hsm_types"] = draw(st.sampled_from([[], "hsm2m.medium", [""], [3]]))
    elif breakage == "exemption":
        document["exemptions"] = [draw(bad_exemptions)]
    elif breakage == "minmax":
        document["min_retention_days"], document["max_retention_days"] = 200, 100
    elif breakage == "shape":
        return json.dumps(draw(st.sampled_from([[], [document], 42, "policy", None])))
    else:  # not JSON at all
        return draw(st.text(max_size=40).filter(lambda t: not _is_json(t)))
    return json.dumps(document)


@st.composite
def _valid_json_refused(draw: st.DrawFn, breakage: str, document: dict[str, Any]) -> str:
    """Text Python's json module would read (or die on with a traceback), yet no policy."""
    text = json.dumps(document)
    if breakage == "nested":  # 100,000 `[`: json itself gives up with a RecursionError
        depth = draw(st.integers(1_000, 100_000))
        closed = draw(st.booleans())
        nest = "[" * depth + ("]" * depth if closed else "")
        key = draw(st.sampled_from([*KNOWN_KEYS, "x"]))
        return draw(st.sampled_from([nest, f'{{"{key}": {nest}}}']))
    if breakage == "digits":  # past int_max_str_digits: a ValueError, not a JSONDecodeError
        digits = draw(st.integers(sys.get_int_max_str_digits() + 1, 6_000))
        number = draw(st.sampled_from(["1", "-9"])) + "0" * (digits - 1)
        return f'{text[:-1]}, "{draw(st.sampled_from(INT_KEYS))}": {number}}}'
    if breakage == "constant":  # NaN and Infinity: json accepts them, JSON does not
        value = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        return f'{text[:-1]}, "{draw(st.sampled_from(INT_KEYS))}": {value}}}'
    # A key given twice: json keeps the last one silently, so the first must not be trusted
    key = draw(st.sampled_from(sorted(document)))
    first = document[key]
    again = draw(st.sampled_from([first, not first] if key in BOOL_KEYS else [first]))
    return f'{text[:-1]}, "{key}": {json.dumps(again)}}}'


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@settings(max_examples=150, deadline=None)
@given(invalid_policies())
def test_an_invalid_policy_is_refused_with_exit_2_and_one_line(text: str) -> None:
    # Given a policy file with something wrong in it, and an endpoint nobody answers on
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.json"
        path.write_text(text, encoding="utf-8")
        err, out = io.StringIO(), io.StringIO()
        # When the CLI is asked to scan with it
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["scan", "--policy", str(path), "--endpoint-url", _closed_url()])
    # Then it is refused before any call: exit 2, one line naming the file, no traceback
    message = err.getvalue()
    assert code == ExitCode.USAGE
    assert out.getvalue() == ""
    assert message.count("\n") == 1 and message.endswith("\n"), repr(message)
    assert message.startswith(f"hsm-backup-audit: error: {path}")
    assert "Traceback" not in message
    assert message[:-1].isprintable()


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=40).filter(lambda b: not _is_utf8(b)))
def test_a_policy_file_that_is_not_text_is_refused_the_same_way(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.json"
        path.write_bytes(raw)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["scan", "--policy", str(path), "--endpoint-url", _closed_url()])
    assert code == ExitCode.USAGE
    assert err.getvalue().count("\n") == 1


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _refusal_of(path: str, capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    """The CLI run on a policy path in a thread: a run that blocks (a FIFO read) is a failure
    after a few seconds, not a test session that hangs."""
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(
            main(["scan", "--policy", path, "--endpoint-url", _closed_url()])
        ),
        daemon=True,
    )
    runner.start()
    runner.join(timeout=10)
    captured = capsys.readouterr()
    return (codes[0] if codes else None), captured.out, captured.err


def _special_file(kind: str, folder: Path) -> str:
    if kind == "fifo":  # reading it waits for a writer forever
        os.mkfifo(folder / "policy.json")
    elif kind == "directory":
        (folder / "policy.json").mkdir()
    elif kind == "device":
        return os.devnull
    elif kind == "symlink loop":
        (folder / "policy.json").symlink_to(folder / "policy.json")
    elif kind == "under a file":
        (folder / "policy").write_text("{}")
        return str(folder / "policy" / "policy.json")
    elif kind == "too large":  # a valid policy, but past the bound on what is read
        (folder / "policy.json").write_text("{" + " " * MAX_POLICY_BYTES + "}")
    return str(folder / "policy.json")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fifo", "it is a named pipe (FIFO), not a regular file"),
        ("directory", "it is a directory, not a regular file"),
        ("device", "it is a character device, not a regular file"),
        ("symlink loop", "Too many levels of symbolic links"),
        ("under a file", "Not a directory"),
        ("too large", f"larger than {MAX_POLICY_BYTES:,} bytes"),
    ],
)
def test_a_policy_path_that_is_no_regular_file_is_refused_at_once(
    kind: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy path that is a FIFO, a directory, a device, a loop, or far too big
    path = _special_file(kind, tmp_path)
    # When the CLI is asked to scan with it
    code, out, err = _refusal_of(path, capsys)
    # Then it ends at once, before any call: exit 2 and one line that says why
    assert code == ExitCode.USAGE, f"{kind}: the run did not end with exit 2 ({code})"
    assert out == ""
    assert err.count("\n") == 1, repr(err)
    assert err.startswith(f"hsm-backup-audit: error: {path}: ")
    assert reason in err


path_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="/\0"),
    min_size=1,
    max_size=40,
).filter(lambda name: name not in {".", ".."})


@settings(max_examples=40, deadline=None)
@given(
    path_names | st.sampled_from(["p\nCloudHSM backup audit: COMPLIANT", "\x1b[32mok\x1b[0m"]),
    st.sampled_from(["{", '{"colour": 1}', "[" * 5000, '{"a": 1, "a": 1}']),
)
def test_the_policy_path_in_an_error_cannot_forge_a_line_or_colour_the_terminal(
    name: str, content: str
) -> None:
    # Given a bad policy in a folder whose name holds line breaks, escapes, anything
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name / "policy.json"
        path.parent.mkdir()
        path.write_text(content)
        err = io.StringIO()
        # When the CLI refuses it
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["scan", "--policy", str(path), "--endpoint-url", _closed_url()])
    # Then the error is still exactly one printable line: no break, no escape code
    message = err.getvalue()
    assert code == ExitCode.USAGE
    assert message.count("\n") == 1 and message.endswith("\n"), repr(message)
    assert message[:-1].isprintable(), repr(message)
    assert message.startswith("hsm-backup-audit: error: ")

"""Random invalid policies are refused before any AWS call: exit 2, one line, no traceback."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
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
not_an_int = st.sampled_from([[], {}, "thirty", 30.5, None, [30]])
not_a_bool = st.sampled_from([[], {}, "maybe", 2, None])
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
            ["key", "int", "range", "bool", "mode", "types", "exemption", "minmax", "shape", "text"]
        )
    )
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


@settings(max_examples=100, deadline=None)
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

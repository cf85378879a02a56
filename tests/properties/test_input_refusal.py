"""A baseline with one value of the wrong JSON type, anywhere the comparison reads, is
refused before any AWS call: exit 2 and one line naming the file and the field, never a
traceback (which exits 1, the NON_COMPLIANT code) and never a silent comparison."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode

FINDING = {
    "id": "v1-" + "0123456789abcdef" * 2,
    "rule": "mode",
    "severity": "HIGH",
    "account_id": "123456789012",
    "region": "us-east-1",
    "cluster_id": "cluster-abc",
    "backup_id": "backup-abc",
    "shared": False,
    "first_seen": "2026-11-01T00:00:00Z",
    "message": "m",
}
TOP = {"schema_version": 1, "generated_at": "2026-11-02T00:00:00Z", "run_id": "r", "status": "OK"}
STRINGS = ("id", "rule", "severity", "account_id", "region", "cluster_id", "message")
wrong_for_text = st.sampled_from([1, 1.5, True, None, [], {}, ["x"]])
wrong_for_flag = st.sampled_from([1, 0, "true", "false", None, [], {}])
wrong_for_version = st.sampled_from([True, 1.0, "1", None, [1], {}, 2])


@st.composite
def broken_baselines(draw: st.DrawFn) -> tuple[str, str]:
    """(the document's JSON text, the field that is wrong)."""
    findings = [dict(FINDING, id="v1-" + f"{n:032x}") for n in range(draw(st.integers(1, 4)))]
    document: dict[str, Any] = {**TOP, "findings": findings}
    where = draw(st.sampled_from(["top", "finding"]))
    if where == "top":
        key = draw(st.sampled_from(["schema_version", "generated_at", "findings", "run_id"]))
        if key == "schema_version":
            document[key] = draw(wrong_for_version)
        elif key == "findings":
            document[key] = draw(st.sampled_from([{}, "x", 1, None, [1], [[]]]))
        else:
            document[key] = draw(wrong_for_text.filter(lambda v: v is not None or key != "run_id"))
        return json.dumps(document), key
    number = draw(st.integers(0, len(findings) - 1))
    key = draw(st.sampled_from([*STRINGS, "shared", "first_seen", "backup_id"]))
    if key == "shared":
        value = draw(wrong_for_flag)
    elif key in ("first_seen", "backup_id"):
        value = draw(wrong_for_text.filter(lambda v: v is not None))
    else:
        value = draw(wrong_for_text)
    findings[number][key] = value
    return json.dumps(document), f"findings.{number}.{key}"


@settings(max_examples=60, deadline=None)
@given(broken_baselines())
def test_a_wrong_type_anywhere_is_exit_2_with_one_line_naming_the_field(
    case: tuple[str, str],
) -> None:
    text, field = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline.json"
        path.write_text(text)
        with pytest.MonkeyPatch.context() as patch:
            errors: list[str] = []
            patch.setattr("sys.stderr", _Lines(errors))
            code = main(["scan", "--region", "us-east-1", "--baseline", str(path)])
    assert code == ExitCode.USAGE
    (line,) = "".join(errors).splitlines()
    assert line.startswith(f"hsm-backup-audit: error: --baseline {path}: {field}")


class _Lines:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> int:
        self.into.append(text)
        return len(text)

    def flush(self) -> None:
        pass

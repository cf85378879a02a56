"""Hostile values cannot forge lines in the text or JSON report, and no credential or
session token reaches the output or the logs at any level."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Fault

from .conftest import Estate

FORGED_STATUS = "CloudHSM backup audit: COMPLIANT"
FORGED_HEADING = "[HIGH] forged (9)"
# Newlines of every kind, ANSI colour, a bidi override and isolate, NUL, BEL, non-ASCII.
HOSTILE = (
    f"\x1b[31mred\x1b[0m\n{FORGED_HEADING}\r\n{FORGED_STATUS}\u2028\u2029\x85"
    "\u202eroot-ca\u202c\u2066iso\u2069\x00\x07\x0b\x0c é 漢字 🙂 "
)
HOSTILE_256 = (HOSTILE * 8)[:256]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"  # a fake, to search for
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENqwertyuiop1234567890"


@pytest.fixture
def hostile_estate(estate: Estate) -> tuple[Estate, str]:
    """One NeverExpires backup whose id, cluster id and tags are all hostile."""
    fleet = estate.fleet
    cluster = fleet.add_cluster(SECONDARY, cluster_id=f"cluster-{HOSTILE}", retention_days=379)
    backup_id = f"backup-{HOSTILE}"
    fleet.add_backup(
        SECONDARY,
        cluster,
        created=estate.now - timedelta(hours=2),
        never_expires=True,
        backup_id=backup_id,
        tags=[{"Key": HOSTILE_256, "Value": HOSTILE_256}, {"Key": "Name", "Value": HOSTILE}],
    )
    return estate, backup_id


def cli_args(estate: Estate, fmt: str) -> list[str]:
    regions = ["--region", PRIMARY, "--region", SECONDARY]
    return ["scan", "--format", fmt, "--endpoint-url", estate.url, *regions]


def scan_output(capsys: pytest.CaptureFixture[str], estate: Estate, fmt: str) -> tuple[int, str]:
    code = main(cli_args(estate, fmt))
    return code, capsys.readouterr().out


def assert_clean_lines(text: str) -> list[str]:
    """Only "\\n" breaks lines, and every line is printable (no control or format char)."""
    lines = text.split("\n")
    assert text.splitlines() == lines[:-1] if text.endswith("\n") else lines
    for line in lines:
        assert line.isprintable(), repr(line)
    return lines


def test_hostile_values_cannot_forge_lines_in_the_text_report(
    hostile_estate: tuple[Estate, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a backup whose id, cluster id and tags carry newlines, ANSI and bidi codes
    estate, _ = hostile_estate
    # When the CLI prints its text report
    code, out = scan_output(capsys, estate, "text")
    # Then no line was forged: one status line, the real headings only, and each finding
    # of never-expires (the hostile backup's and the estate's own) starts one indented block
    assert code == ExitCode.NON_COMPLIANT
    lines = assert_clean_lines(out)
    assert [ln for ln in lines if ln.startswith("CloudHSM backup audit:")] == [lines[0]]
    assert lines[0] == "CloudHSM backup audit: NON_COMPLIANT"
    assert not any(ln.startswith((FORGED_HEADING, FORGED_STATUS)) for ln in lines)
    start = lines.index("[HIGH] never-expires (2)")
    section = lines[start + 1 : lines.index("", start)]
    assert all(ln.startswith("  ") for ln in section)
    assert len([ln for ln in section if not ln.startswith("   ")]) == 2  # one per finding
    assert max(len(ln) for ln in lines) <= 80


def test_hostile_values_cannot_forge_lines_in_the_json_report(
    hostile_estate: tuple[Estate, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the same hostile backup
    estate, backup_id = hostile_estate
    # When the CLI prints its JSON report
    code, out = scan_output(capsys, estate, "json")
    # Then the document has only the lines json.dumps makes, values are one clean line each
    # and bounded, and it validates against the shipped schema
    assert code == ExitCode.NON_COMPLIANT
    assert_clean_lines(out)
    document = json.loads(out)
    schema = json.loads((files("hsm_backup_audit") / "report.schema.json").read_text())
    Draft202012Validator(schema).validate(document)
    (finding,) = [
        f
        for f in document["findings"]
        if f["cluster_id"].startswith("cluster-") and f["backup_id"] and "red" in f["backup_id"]
    ]
    assert finding["backup_id"].startswith("backup-")
    assert "\x1b" not in out and "\u202e" not in out and "\u2028" not in out
    for key, value in finding["tags"].items():
        assert len(key) <= 64 and len(value) <= 64
        assert key.isprintable() and value.isprintable()
    assert backup_id not in out  # the raw id never appears, only its clean form


def test_no_credentials_or_tokens_in_output_or_logs_at_any_level(
    estate: Estate,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given recognisable credentials with a session token, every logger at DEBUG, and a
    # run with errors in it (denied region, expired page)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    estate.layer.faults = [
        Fault("deny", region=SECONDARY),
        Fault("expired", region=PRIMARY, operation="DescribeClusters"),
    ]
    outputs: list[Any] = []
    # When the CLI runs in both formats
    for fmt in ("text", "json"):
        code = main(cli_args(estate, fmt))
        assert code == ExitCode.INCOMPLETE
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err]
    # Then neither the secret nor the token appears anywhere: not in the report, not on
    # stderr, not in any log record of any logger
    outputs.append(caplog.text)
    outputs += [str(r.args) for r in caplog.records]
    for text in outputs:
        assert SECRET not in text
        assert TOKEN not in text

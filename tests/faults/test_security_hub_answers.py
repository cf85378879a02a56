"""`scan --security-hub` behind the fault layer: the import runs under `--max-seconds`,
and an answer that is not BatchImportFindings' (not JSON, or without its counts) is a
problem on standard error, never counted as imported."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY
from hsm_backup_audit_demo.server import Fault

from .conftest import ACCOUNT, Estate

IMPORT_PATH = "/findings/import"  # BatchImportFindings (REST JSON)
NO_HANG_SECONDS = 60  # a test that has not returned by then has hung


def scan_and_import(
    capsys: pytest.CaptureFixture[str], estate: Estate, *args: str
) -> tuple[int, dict[str, Any], str]:
    """`scan --security-hub` over both regions (exit code, document, standard error),
    failing the test instead of hanging it."""
    outcome: dict[str, Any] = {}
    command = ["scan", "--format", "json", "--endpoint-url", estate.url, "--security-hub"]
    command += ["--region", PRIMARY, "--region", SECONDARY, *args]
    worker = threading.Thread(target=lambda: outcome.update(code=main(command)), daemon=True)
    worker.start()
    worker.join(timeout=NO_HANG_SECONDS)
    assert not worker.is_alive(), "the command line hung"
    captured = capsys.readouterr()
    return outcome["code"], json.loads(captured.out), captured.err


def test_an_import_that_hangs_ends_with_the_runs_deadline(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Security Hub answering each import only after 20 s (read timeout 10 s, 3
    # attempts: about 40 s a call), and a run bounded to 3 s
    estate.layer.faults = [Fault("hang", operation=IMPORT_PATH, hang_seconds=20)]
    started = time.monotonic()
    # When the CLI scans and imports
    code, document, err = scan_and_import(capsys, estate, "--max-seconds", "3")
    # Then it ends soon after the bound, the exit code is the audit's, and each region's
    # findings are one problem saying no answer came before the deadline
    assert time.monotonic() - started < 8
    assert code == ExitCode.NON_COMPLIANT
    assert document["status"] == "NON_COMPLIANT"
    for region in (PRIMARY, SECONDARY):
        assert (
            f"{ACCOUNT} {region} BatchImportFindings: DeadlineExceeded: "
            "no answer before the time budget ran out"
        ) in err
    assert "Security Hub: 0 findings imported, 0 archived" in err


def without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda answer: {k: v for k, v in answer.items() if k != key}


def changed(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda answer: {**answer, key: value}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("garble", operation=IMPORT_PATH),  # 200 OK, an HTML page (a captive proxy)
        Fault("mutate", operation=IMPORT_PATH, mutate=without("FailedCount")),
        Fault("mutate", operation=IMPORT_PATH, mutate=without("SuccessCount")),
        Fault("mutate", operation=IMPORT_PATH, mutate=changed("SuccessCount", None)),
        Fault("mutate", operation=IMPORT_PATH, mutate=changed("SuccessCount", 7)),
        Fault("mutate", operation=IMPORT_PATH, mutate=changed("FailedCount", 1)),
    ],
    ids=["not-json", "no-failed-count", "no-success-count", "null-count", "too-many", "lost"],
)
def test_an_answer_that_does_not_account_for_the_findings_is_a_problem(
    estate: Estate, capsys: pytest.CaptureFixture[str], fault: Fault
) -> None:
    # Given Security Hub answering 200 OK with something that is not a full answer
    estate.layer.faults = [fault]
    # When the CLI scans and imports
    code, _, err = scan_and_import(capsys, estate)
    # Then nothing counts as imported: each region is a MalformedResponse problem
    assert code == ExitCode.NON_COMPLIANT
    assert "Security Hub: 0 findings imported, 0 archived" in err
    for region in (PRIMARY, SECONDARY):
        assert f"{ACCOUNT} {region} BatchImportFindings: MalformedResponse" in err


def test_a_full_answer_counts_as_imported(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Security Hub behind the fault layer, answering normally
    code, document, err = scan_and_import(capsys, estate)
    # Then every finding above INFO is imported, and no problem is reported
    assert code == ExitCode.NON_COMPLIANT
    assert "MalformedResponse" not in err and "DeadlineExceeded" not in err
    shown = [f for f in document["findings"] if f["severity"] != "INFO"]
    assert f"Security Hub: {len(shown)} finding" in err

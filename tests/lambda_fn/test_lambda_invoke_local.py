"""The README's local run: the handler against a moto server through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hsm_backup_audit_demo import Fleet, seed_demo_fleet
from hsm_backup_audit_demo.invoke_local import main


def test_invoke_local_runs_the_handler_against_a_moto_server_and_shows_the_email(
    server_fleet: tuple[str, Fleet], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # Given a moto server holding the demo fleet (what `moto_server` plus seeding gives)
    url, _ = server_fleet
    seed_demo_fleet(datetime.now(UTC))
    for key in ("AWS_ENDPOINT_URL", "TOPIC_ARN", "REPORT_BUCKET", "REGIONS"):
        monkeypatch.setenv(key, "set-by-invoke-local")  # restored after the test
    # When the local invoke targets it, as the README shows
    assert main(["--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    # Then the handler ran through the endpoint and the email is shown as received
    assert (
        "Subject: [NON_COMPLIANT] CloudHSM backups 123456789012: 10 findings in 6 clusters" in out
    )
    assert (
        'Message attributes: {"findings": "10", "new_findings": "10", "new_severity": "HIGH", '
        '"resolved_findings": "0", "severity": "HIGH", "status": "NON_COMPLIANT"}' in out
    )
    returned = json.loads(out.split("===== the handler returned =====\n", 1)[1])
    assert returned["status"] == "NON_COMPLIANT"
    assert returned["published"] is True
    assert returned["report"].startswith("s3://hsm-backup-audit-reports/reports/123456789012/")

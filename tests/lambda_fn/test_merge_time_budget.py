"""The fan-out's Merge step runs under its own invocation's time budget: a Security Hub
import that would outlast it stops SECURITY_HUB_STOP_SECONDS before the end, and the
report and the digest still go out, saying which findings were not imported.

The steps run in order in this process against a moto server behind the fault layer
(reached through AWS_ENDPOINT_URL as in Lambda), with the documents a real execution
passes (moto cannot execute the state machine)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from test_lambda_security_hub import IMPORT_PATH, MEMBER, OWN, seed, setting  # noqa: F401

from hsm_backup_audit.constants import SECURITY_HUB_STOP_SECONDS
from hsm_backup_audit.fanout import batch_handler, merge_handler, plan_handler
from hsm_backup_audit_demo import SECONDARY
from hsm_backup_audit_demo.invoke_local import SCHEDULED_EVENT, Inbox, LocalContext
from hsm_backup_audit_demo.server import Fault, FleetServer

MERGE_SECONDS_LEFT = SECURITY_HUB_STOP_SECONDS + 3  # the import may use 3 s of them


def run_fan_out(merge_seconds: float) -> dict[str, Any]:
    """plan -> one batch of every account -> merge, invoked with `merge_seconds` left;
    the merge's summary."""
    plan = plan_handler(SCHEDULED_EVENT, LocalContext())
    body = boto3.client("s3").get_object(Bucket=plan["bucket"], Key=plan["work_list"])["Body"]
    items = json.loads(body.read())
    batch_input = {key: plan[key] for key in ("run", "bucket", "prefix", "generated_at")}
    batch_handler({"Items": items, "BatchInput": batch_input}, LocalContext())
    return merge_handler(plan, LocalContext(timeout_seconds=merge_seconds))


def test_a_slow_import_stops_before_the_merge_runs_out_and_the_digest_says_so(
    setting: tuple[FleetServer, Inbox],  # noqa: F811
) -> None:
    # Given findings in both accounts, and Security Hub taking 15 s to answer an import
    # in eu-west-1 (longer than the merge has left before its stop)
    server, inbox = setting
    seed(datetime.now(UTC))
    server.layer.faults.append(
        Fault("hang", operation=IMPORT_PATH, region=SECONDARY, hang_seconds=15)
    )
    # When the fan-out runs and the merge is invoked with 33 s left
    started = time.monotonic()
    summary = run_fan_out(MERGE_SECONDS_LEFT)
    # Then the merge stopped waiting at its stop (3 s in), us-east-1 went in,
    assert time.monotonic() - started < 12
    assert summary["status"] == "NON_COMPLIANT"
    assert summary["security_hub"] == {"imported": 1, "archived": 0, "refused": 3}
    # and the digest went out naming each account and region whose findings were not
    # imported, and why
    assert summary["published"] is True
    digest = inbox.messages()[-1]["Message"]
    assert "SECURITY HUB ERRORS (2): 3 findings did not reach Security Hub" in digest
    for account in (OWN, MEMBER):
        assert (
            f"{account} {SECONDARY} BatchImportFindings: DeadlineExceeded: "
            "no answer before the time budget ran out"
        ) in digest
    assert summary["report"]


def test_a_merge_with_less_than_the_stop_left_imports_nothing_and_says_so(
    setting: tuple[FleetServer, Inbox],  # noqa: F811
) -> None:
    # Given findings in both accounts, and a merge invoked with less time left than the
    # import's stop
    server, inbox = setting
    seed(datetime.now(UTC))
    # When the fan-out runs
    summary = run_fan_out(SECURITY_HUB_STOP_SECONDS - 1)
    # Then no import was sent, and the digest says every finding was not sent
    assert server.layer.calls_to(IMPORT_PATH) == []
    assert summary["security_hub"] == {"imported": 0, "archived": 0, "refused": 4}
    digest = inbox.messages()[-1]["Message"]
    assert "4 findings did not reach Security Hub" in digest
    assert "DeadlineExceeded: not sent: the time budget ran out" in digest

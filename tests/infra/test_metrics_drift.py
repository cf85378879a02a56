"""The dashboard and alarms name exactly the metrics the handler emits.

The handler runs against moto (two accounts, two regions, the demo fleet); its EMF
output gives (namespace, metric, dimension names) and the Rule values it uses; the
synthesized dashboard and alarms must name those and nothing else.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from hsm_backup_audit import constants as fn
from hsm_backup_audit import observability
from hsm_backup_audit.configuration import configuration
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo.fleet import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.invoke_local import (
    SCHEDULED_EVENT,
    LocalContext,
    create_topic_and_inbox,
)

from .conftest import Synth
from .dashboard import dashboard_metrics

MetricKey = tuple[str, str, frozenset[str]]
MEMBER_ROLE = "arn:aws:iam::111111111111:role/hsm-backup-audit-member"


@pytest.fixture
def emf(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[Any]:
    """Every EMF document one handler run prints (two accounts, so Account is emitted).

    A small fleet is enough: every run emits every metric, zeros included, and Findings by
    Account for the accounts with findings (one never-expiring backup here).
    """
    fleet = Fleet()
    ids = fleet.add_daily_backups(
        PRIMARY, fleet.add_cluster(PRIMARY), days=3, now=datetime.now(UTC)
    )
    fleet.backend(PRIMARY).backups[ids[0]].never_expires = True
    inbox = create_topic_and_inbox()
    for key in (fn.ENV_POLICY_FILE, fn.ENV_REPORT_BUCKET, fn.ENV_EXTERNAL_ID, fn.ENV_NOTIFY):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(fn.ENV_TOPIC_ARN, inbox.topic_arn)
    monkeypatch.setenv(fn.ENV_REGIONS, f"{PRIMARY},{SECONDARY}")
    monkeypatch.setenv(fn.ENV_MEMBER_ROLE_ARNS, MEMBER_ROLE)
    configuration.cache_clear()
    observability.metrics.clear_metrics()
    handler = observability.logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.stream = sys.stdout
    capsys.readouterr()
    try:
        lambda_handler(SCHEDULED_EVENT, LocalContext())  # type: ignore[arg-type]
    finally:
        configuration.cache_clear()
        observability.metrics.clear_metrics()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [doc for doc in lines if "_aws" in doc]


def emitted_keys(documents: list[Any]) -> set[MetricKey]:
    return {
        (directive["Namespace"], metric["Name"], frozenset(dimension_set))
        for doc in documents
        for directive in doc["_aws"]["CloudWatchMetrics"]
        for dimension_set in directive["Dimensions"]
        for metric in directive["Metrics"]
    }


def own_metrics(synth: Synth) -> list[tuple[str, str, dict[str, str]]]:
    """The dashboard's metrics and the alarms', leaving out Lambda's own (AWS/Lambda)."""
    alarms = [
        (
            alarm["Properties"]["Namespace"],
            alarm["Properties"]["MetricName"],
            {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]},
        )
        for alarm in synth.audit.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    return [m for m in dashboard_metrics(synth.audit) + alarms if not m[0].startswith("AWS/")]


def test_dashboard_and_alarms_name_exactly_the_emitted_metrics(
    default: Synth, emf: list[Any]
) -> None:
    emitted = emitted_keys(emf)
    shown = {
        (namespace, name, frozenset(dims))
        for namespace, name, dims in dashboard_metrics(default.audit)
        if not namespace.startswith("AWS/")
    }
    alarmed = {(namespace, name, frozenset(dims)) for namespace, name, dims in own_metrics(default)}
    assert shown == emitted
    assert alarmed <= emitted


def test_dimension_values_match_what_the_function_uses(default: Synth, emf: list[Any]) -> None:
    (function,) = default.audit.find_resources("AWS::Lambda::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    services = {doc[fn.DIMENSION_SERVICE] for doc in emf}
    namespaces = {d["Namespace"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"]}
    # The service and namespace the stack configures are those the function emits with
    assert services == {env[fn.ENV_SERVICE_NAME]} == {observability.service}
    assert namespaces == {env[fn.ENV_METRICS_NAMESPACE]} == {observability.namespace}
    # Every metric the dashboard and alarms read carries that service value
    for _, _, dims in own_metrics(default):
        assert dims[fn.DIMENSION_SERVICE] == env[fn.ENV_SERVICE_NAME]
    # The dashboard's Rule lines are the Rule values emitted, one each
    rules_emitted = {doc[fn.DIMENSION_RULE] for doc in emf if fn.DIMENSION_RULE in doc}
    rules_shown = [
        dims[fn.DIMENSION_RULE] for _, _, dims in own_metrics(default) if fn.DIMENSION_RULE in dims
    ]
    assert sorted(rules_shown) == sorted(rules_emitted) == sorted(str(rule) for rule in fn.Rule)


def test_the_run_covered_every_breakdown(emf: list[Any]) -> None:
    # Guards the comparison above: the run emitted by Rule, Region and Account.
    dimension_names = set().union(*(dims for _, _, dims in emitted_keys(emf)))
    assert dimension_names == {
        fn.DIMENSION_SERVICE,
        fn.DIMENSION_RULE,
        fn.DIMENSION_REGION,
        fn.DIMENSION_ACCOUNT,
    }

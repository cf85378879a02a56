"""Alarms and dashboard: the function's own metric names, thresholds, and what to do."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from hsm_backup_audit import constants as fn
from infra.constants import NO_RUN_HOURS

from .conftest import Synth
from .dashboard import dashboard_body, widget_metrics, widget_titled

SERVICE = [{"Name": fn.DIMENSION_SERVICE, "Value": fn.SERVICE_NAME}]


def _alarm(synth: Synth, metric_name: str) -> dict[str, Any]:
    (alarm,) = synth.audit.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": metric_name}}
    ).values()
    properties: dict[str, Any] = alarm["Properties"]
    return properties


@pytest.mark.parametrize(
    ("metric", "statistic", "operator", "threshold", "periods", "missing"),
    [
        (fn.METRIC_NONCOMPLIANT_BACKUPS, "Maximum", "GreaterThanThreshold", 0, 1, "ignore"),
        (fn.METRIC_SCAN_ERRORS, "Sum", "GreaterThanThreshold", 0, 1, "ignore"),
        (
            fn.METRIC_BACKUPS_SCANNED,
            "SampleCount",
            "LessThanThreshold",
            1,
            NO_RUN_HOURS,
            "breaching",
        ),
    ],
)
def test_alarm(
    default: Synth,
    metric: str,
    statistic: str,
    operator: str,
    threshold: int,
    periods: int,
    missing: str,
) -> None:
    (topic_id,) = default.audit.find_resources("AWS::SNS::Topic")
    alarm = _alarm(default, metric)
    assert alarm["Namespace"] == fn.METRICS_NAMESPACE_DEFAULT
    assert alarm["Dimensions"] == SERVICE
    assert alarm["Statistic"] == statistic
    assert alarm["Period"] == 3600
    assert alarm["ComparisonOperator"] == operator
    assert alarm["Threshold"] == threshold
    assert alarm["EvaluationPeriods"] == alarm.get("DatapointsToAlarm", 1) == periods
    assert alarm["TreatMissingData"] == missing
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    assert len(alarm["AlarmDescription"]) > 80  # says what to do


def test_no_run_alarm_fires_after_26_hours_without_a_run(default: Synth) -> None:
    alarm = _alarm(default, fn.METRIC_BACKUPS_SCANNED)
    assert NO_RUN_HOURS == 26
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 26 * 3600
    assert "schedule" in alarm["AlarmDescription"]


def test_function_errors_alarm(default: Synth) -> None:
    (topic_id,) = default.audit.find_resources("AWS::SNS::Topic")
    (function_id,) = default.audit.find_resources("AWS::Lambda::Function")
    alarm = _alarm(default, "Errors")
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 3600, 0)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_four_alarms(default: Synth) -> None:
    default.audit.resource_count_is("AWS::CloudWatch::Alarm", 4)


def test_findings_by_rule_has_one_line_per_rule(default: Synth) -> None:
    lines = widget_metrics(widget_titled(default.audit, "Findings by rule"))
    assert lines == [
        (
            fn.METRICS_NAMESPACE_DEFAULT,
            fn.METRIC_FINDINGS,
            {fn.DIMENSION_SERVICE: fn.SERVICE_NAME, fn.DIMENSION_RULE: str(rule)},
        )
        for rule in fn.Rule
    ]


def test_dashboard_shows_the_function_errors_and_invocations(default: Synth) -> None:
    lines = widget_metrics(widget_titled(default.audit, "Function invocations and errors"))
    assert [(namespace, name) for namespace, name, _ in lines] == [
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
    ]


def test_dashboard_lists_the_alarms(default: Synth) -> None:
    widget = widget_titled(default.audit, "Alarms")
    assert len(widget["properties"]["alarms"]) == 4


def test_dashboard_widgets_fit_the_grid(default: Synth) -> None:
    body = dashboard_body(default.audit)
    assert all(w["width"] <= 24 for w in body["widgets"])


def test_outputs(default: Synth, without_bucket: Synth) -> None:
    outputs = default.audit.to_json()["Outputs"]
    assert {"DashboardUrl", "TopicArn", "FunctionName", "FunctionRoleArn"} <= set(outputs)
    assert "ReportBucketName" in outputs
    assert "ReportBucketName" not in without_bucket.audit.to_json()["Outputs"]
    url = outputs["DashboardUrl"]["Value"]["Fn::Join"][1]
    assert url[0].startswith("https://console.aws.amazon.com/cloudwatch/home?region=")
    default.audit.has_output("TopicArn", {"Value": {"Ref": Match.any_value()}})


def test_dashboard_shows_new_and_resolved_findings_beside_the_totals(default: Synth) -> None:
    body = dashboard_body(default.audit)
    titles = [
        [w["properties"].get("title") for w in body["widgets"] if w["y"] == y]
        for y in {w["y"] for w in body["widgets"]}
    ]
    (row,) = [r for r in titles if "New and resolved findings (since the baseline)" in r]
    assert "Non-compliant backups and findings" in row
    lines = widget_metrics(
        widget_titled(default.audit, "New and resolved findings (since the baseline)")
    )
    assert [(name, dims) for _, name, dims in lines] == [
        ("NewFindings", {"service": "hsm-backup-audit"}),
        ("ResolvedFindings", {"service": "hsm-backup-audit"}),
    ]

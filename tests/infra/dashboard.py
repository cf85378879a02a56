"""Reads the synthesized dashboard body: the metrics its widgets name."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Template

SEARCH = re.compile(r"SEARCH\('\{([^}]*)\} MetricName=\"([^\"]+)\"([^']*)'")
EQUALS = re.compile(r'(\w+)="([^"]*)"')


def dashboard_body(template: Template) -> dict[str, Any]:
    """The body with every CloudFormation token written as plain text."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        parts = body["Fn::Join"][1]
        body = "".join(p if isinstance(p, str) else json.dumps(p).replace('"', "") for p in parts)
    document: dict[str, Any] = json.loads(body)
    return document


def widget_metrics(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of each metric line of a graph widget.

    A SEARCH expression counts as the metric it searches, with the dimensions it groups by:
    the values it fixes (`service="..."`) are given, the others (one line each) are "*".
    """
    found = []
    for line in widget["properties"].get("metrics", []):
        if isinstance(line[0], dict):  # an expression
            match = SEARCH.search(line[0]["expression"])
            assert match, line
            namespace, *dimensions = match.group(1).split(",")
            dims = {**dict.fromkeys(dimensions, "*"), **dict(EQUALS.findall(match.group(3)))}
            found.append((namespace, match.group(2), dims))
            continue
        namespace, name, *rest = line
        pairs = [item for item in rest if not isinstance(item, dict)]
        found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def dashboard_metrics(template: Template) -> list[tuple[str, str, dict[str, str]]]:
    return [
        metric
        for widget in dashboard_body(template)["widgets"]
        if widget["type"] == "metric"
        for metric in widget_metrics(widget)
    ]


def widget_titled(template: Template, title: str) -> dict[str, Any]:
    (widget,) = [
        w for w in dashboard_body(template)["widgets"] if w["properties"].get("title") == title
    ]
    return widget

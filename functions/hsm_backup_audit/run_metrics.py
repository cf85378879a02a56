"""The CloudWatch metrics of one run, in embedded metric format through Powertools.

Every run emits every metric, zeros included, so alarms and dashboards never see a
gap on a healthy day. Dimensions stay low-cardinality: service, Rule, Region, Account
(the last only when more than one account is audited). Ids go in metadata, never in
dimensions.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from .constants import (
    DIMENSION_ACCOUNT,
    DIMENSION_REGION,
    DIMENSION_RULE,
    DIMENSION_SERVICE,
    METRIC_BACKUPS_SCANNED,
    METRIC_FINDINGS,
    METRIC_NEW_FINDINGS,
    METRIC_NONCOMPLIANT_BACKUPS,
    METRIC_RESOLVED_FINDINGS,
    METRIC_SCAN_DURATION,
    METRIC_SCAN_ERRORS,
    Rule,
)
from .engine.audit import Report
from .engine.changes import to_archive
from .observability import metrics


def _findings_by(dimension: str, value: str, count: int) -> None:
    """One EMF document: Findings with the service and one more dimension."""
    with single_metric(
        name=METRIC_FINDINGS,
        unit=MetricUnit.Count,
        value=count,
        namespace=metrics.namespace,
        default_dimensions={DIMENSION_SERVICE: str(metrics.service)},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


def emit_run_metrics(report: Report, run_id: str) -> None:
    """Totals go in the handler's metric set (flushed by `log_metrics`); breakdowns print now."""
    metrics.add_metric(METRIC_BACKUPS_SCANNED, MetricUnit.Count, report.backups_scanned)
    metrics.add_metric(METRIC_NONCOMPLIANT_BACKUPS, MetricUnit.Count, report.backups_noncompliant)
    metrics.add_metric(METRIC_FINDINGS, MetricUnit.Count, len(report.findings))
    metrics.add_metric(METRIC_SCAN_ERRORS, MetricUnit.Count, len(report.errors))
    changes = report.changes
    metrics.add_metric(METRIC_NEW_FINDINGS, MetricUnit.Count, len(changes.new) if changes else 0)
    metrics.add_metric(METRIC_RESOLVED_FINDINGS, MetricUnit.Count, len(to_archive(changes)))
    metrics.add_metric(METRIC_SCAN_DURATION, MetricUnit.Seconds, round(report.duration_seconds, 3))
    metrics.add_metadata(key="run_id", value=run_id)
    metrics.add_metadata(key="status", value=str(report.status))

    by_rule = report.by_rule
    for rule in Rule:
        _findings_by(DIMENSION_RULE, str(rule), by_rule.get(rule, 0))
    for region, (_, count) in report.breakdown("region").items():
        _findings_by(DIMENSION_REGION, region, count)
    if len(report.scope.accounts) > 1:
        for account, (_, count) in report.breakdown("account_id").items():
            _findings_by(DIMENSION_ACCOUNT, account, count)

"""The CloudWatch metrics of one run, in embedded metric format through Powertools.

Every run emits every total and every `Findings` by rule and by region, zeros included, so
alarms and dashboards never see a gap on a healthy day. `Findings` by account is emitted
only for accounts with findings (the most first, at most METRIC_ACCOUNTS_MAX), and only when
more than one account is audited: each series is a billed custom metric, so the count per
run is bounded whatever the number of accounts (`metric_bound`). Ids go in metadata, never
in dimensions.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from .constants import (
    DIMENSION_ACCOUNT,
    DIMENSION_REGION,
    DIMENSION_RULE,
    DIMENSION_SERVICE,
    METRIC_ACCOUNTS_MAX,
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

TOTALS = (
    METRIC_BACKUPS_SCANNED,
    METRIC_NONCOMPLIANT_BACKUPS,
    METRIC_FINDINGS,
    METRIC_SCAN_ERRORS,
    METRIC_NEW_FINDINGS,
    METRIC_RESOLVED_FINDINGS,
    METRIC_SCAN_DURATION,
)


def metric_bound(regions: int) -> int:
    """The most custom metrics (distinct name and dimensions) one run emits, for a run over
    `regions` regions, whatever the number of accounts."""
    return len(TOTALS) + len(Rule) + regions + METRIC_ACCOUNTS_MAX


def accounts_with_findings(report: Report) -> list[tuple[str, int]]:
    """(account, findings) for the accounts that get their own series: the most first."""
    counts = [(a, n) for a, (_, n) in report.breakdown("account_id").items() if n > 0]
    counts.sort(key=lambda item: (-item[1], item[0]))
    return counts[:METRIC_ACCOUNTS_MAX]


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
        for account, count in accounts_with_findings(report):
            _findings_by(DIMENSION_ACCOUNT, account, count)

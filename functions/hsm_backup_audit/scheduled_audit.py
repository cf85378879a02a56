"""One scheduled run: scan within the time budget, emit metrics, deliver, summarise.

The handler calls `run_scheduled_audit` and nothing else. A delivery failure raises
DeliveryError after everything deliverable was delivered, so Lambda's retries, the
dead-letter queue and the function-error alarm see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from .aws.delivery import Delivery, DeliveryError, Outbox, deliver, run_id_for
from .aws.scanner import ScanRequest, scan
from .configuration import Configuration
from .constants import TIME_RESERVE_SECONDS
from .engine.audit import Report
from .observability import logger, tracer
from .run_metrics import emit_run_metrics

DEADLINE_CODE = "DeadlineExceeded"


@dataclass(frozen=True)
class TimeBudget:
    """Stop reading when less than the reserve is left, so the results still go out."""

    remaining_ms: Callable[[], int]
    reserve_seconds: float = TIME_RESERVE_SECONDS

    def should_stop(self) -> bool:
        return self.remaining_ms() < self.reserve_seconds * 1000


@tracer.capture_method(capture_response=False)  # a report can be megabytes
def _scan(config: Configuration, budget: TimeBudget, session: boto3.session.Session) -> Report:
    return scan(
        ScanRequest(
            regions=config.regions,
            policy=config.policy,
            policy_source=config.policy_source,
            role_arns=config.member_role_arns,
            external_id=config.external_id,
            max_workers=config.max_workers,
            should_stop=budget.should_stop,
            session=session,
            organization=config.organization,
            member_role_name=config.member_role_name,
            organizational_units=config.organizational_units,
        )
    )


@tracer.capture_method(capture_response=False)  # a report can be megabytes
def _deliver(
    report: Report, config: Configuration, session: boto3.session.Session, run_id: str
) -> Delivery:
    outbox = Outbox.for_run(session, config.topic_arn, config.report_bucket)
    return deliver(
        report,
        outbox,
        topic_arn=config.topic_arn,
        report_bucket=config.report_bucket,
        run_id=run_id,
        only_when_not_compliant=config.notify_only_findings,
    )


def summarise(report: Report, delivery: Delivery) -> dict[str, Any]:
    return {
        "run_id": delivery.run_id,
        "status": str(report.status),
        "backups_scanned": report.backups_scanned,
        "backups_noncompliant": report.backups_noncompliant,
        "findings": len(report.findings),
        "scan_errors": len(report.errors),
        "stopped_early": any(e.code == DEADLINE_CODE for e in report.errors),
        "duration_seconds": round(report.duration_seconds, 3),
        "report": delivery.report_url,
        "published": delivery.published,
        "findings_in_digest": delivery.digest.findings_shown if delivery.digest else 0,
    }


def run_scheduled_audit(
    config: Configuration,
    budget: TimeBudget,
    request_id: str,
    session: boto3.session.Session | None = None,
) -> dict[str, Any]:
    session = session or boto3.session.Session()
    report = _scan(config, budget, session)
    return finish_run(report, config, request_id, session)


def finish_run(
    report: Report, config: Configuration, request_id: str, session: boto3.session.Session
) -> dict[str, Any]:
    """Everything a run does once its report exists: metrics, logs, delivery, the summary.

    Any way of producing a report (one scan, or partial reports merged) ends here."""
    run_id = run_id_for(report.generated_at, request_id)
    emit_run_metrics(report, run_id)
    for error in report.errors:
        logger.warning("listing failed", extra={"scan_error": error.to_dict()})
    delivery = _deliver(report, config, session, run_id)
    summary = summarise(report, delivery)
    if delivery.failures:
        logger.error("delivery failed", extra={"summary": summary, "failures": delivery.failures})
        raise DeliveryError("; ".join(delivery.failures))
    logger.info("audit delivered", extra={"summary": summary})
    return summary

"""One scheduled run: scan within the time budget, compare with the run history, emit
metrics, deliver (when NOTIFY says so), move the baseline, summarise.

The handler calls `run_scheduled_audit` and nothing else. A delivery failure raises
DeliveryError after everything deliverable was delivered, so Lambda's retries, the
dead-letter queue and the function-error alarm see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from .aws.auto_fix import auto_fix
from .aws.delivery import Delivery, DeliveryError, Outbox, deliver, report_keys, run_id_for
from .aws.history import History, read_history, record_run, scope_document, scope_key
from .aws.monthly_evidence import MonthlyEvidence, write_monthly_evidence
from .aws.scanner import ScanRequest, scan
from .aws.security_hub import AccountSessions, import_run, never
from .configuration import Configuration
from .constants import (
    AUTO_FIX_STOP_SECONDS,
    NOTIFY_ALWAYS,
    NOTIFY_CHANGES,
    NOTIFY_FINDINGS,
    REPORT_LATEST_NAME,
    SECURITY_HUB_STOP_SECONDS,
    TIME_RESERVE_SECONDS,
    WEEKDAYS,
    Status,
)
from .engine.audit import Report
from .engine.changes import compute_changes, to_archive
from .engine.digest_sections import auto_fix_lines
from .engine.security_hub_outcome import SecurityHubOutcome
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
    report: Report,
    config: Configuration,
    outbox: Outbox,
    run_id: str,
    publish: bool,
    history: History,
    request_id: str,
    security_hub: SecurityHubOutcome | None = None,
    evidence: MonthlyEvidence | None = None,
    auto_fix: list[str] | None = None,
) -> Delivery:
    return deliver(
        report,
        outbox,
        topic_arn=config.topic_arn,
        report_bucket=config.report_bucket,
        run_id=run_id,
        request_id=request_id,
        publish=publish,
        baseline_problem=history.problem,
        security_hub=security_hub,
        weekly=is_weekly_digest(report, config),
        evidence=(evidence.bucket, evidence.key) if evidence and evidence.key else None,
        auto_fix=auto_fix or (),
    )


@tracer.capture_method(capture_response=False)
def _monthly_evidence(
    report: Report, config: Configuration, outbox: Outbox
) -> MonthlyEvidence | None:
    """The first run of a month writes last month's evidence page (with a report bucket)."""
    if not config.report_bucket or outbox.s3 is None:
        return None
    prefix = report_keys(report, "run")[1].removesuffix(REPORT_LATEST_NAME)  # reports/<acct>/
    evidence = write_monthly_evidence(
        outbox.s3, config.report_bucket, history_scope(config), prefix, report.generated_at
    )
    if evidence is not None and evidence.problem:
        logger.warning("evidence page not written", extra={"problem": evidence.problem})
    return evidence


@tracer.capture_method(capture_response=False)
def _import_to_security_hub(
    report: Report,
    config: Configuration,
    session: boto3.session.Session,
    budget: TimeBudget | None,
) -> SecurityHubOutcome | None:
    """Findings into Security Hub when SECURITY_HUB says so. Its problems go in the digest
    and the log; they never change the audit's status nor fail the invocation."""
    if not config.security_hub:
        return None
    sessions = AccountSessions(
        session,
        config.member_role_arns,
        config.external_id,
        member_role_name=config.member_role_name if config.organization else None,
    )
    stop = (
        TimeBudget(budget.remaining_ms, SECURITY_HUB_STOP_SECONDS).should_stop if budget else never
    )
    outcome = import_run(report, config.policy, sessions, should_stop=stop)
    for problem in outcome.problems:
        logger.error("security hub import failed", extra={"problem": problem.to_dict()})
    return outcome


@tracer.capture_method(capture_response=False)
def _auto_fix(
    report: Report,
    config: Configuration,
    session: boto3.session.Session,
    outbox: Outbox,
    budget: TimeBudget | None,
) -> list[str]:
    """AUTO_FIX=never-expires: set NeverExpires back on this account's backups (every rail
    of `fix --apply`), journal to the report bucket; the digest lines saying what changed."""
    if config.auto_fix is None:
        return []
    stop = TimeBudget(budget.remaining_ms, AUTO_FIX_STOP_SECONDS).should_stop if budget else never
    done = auto_fix(report, config.policy, session, outbox.s3, config.report_bucket, stop)
    changed = [o.action.backup_id for o in done.outcomes if o.outcome == "applied"]
    left = [
        (o.action.backup_id, o.reason or o.outcome) for o in done.outcomes if o.outcome != "applied"
    ]
    logger.info("automatic fixes", extra={"changed": len(changed), "not_changed": len(left)})
    if done.problem:
        logger.error("fix journal not stored", extra={"problem": done.problem})
    return auto_fix_lines(changed, left, done.journal_url, done.problem)


def history_scope(config: Configuration) -> dict[str, Any]:
    """What a baseline must share with this run: the accounts (this one, "self", each
    member role's, and with ORGANIZATION the organization and its units), the regions
    and the policy."""
    accounts = ["self", *(arn.split(":")[4] for arn in config.member_role_arns)]
    if config.organization:
        units = ",".join(sorted(config.organizational_units)) or "root"
        accounts.append(f"organization:{units}")
    return scope_document(accounts, config.regions, config.policy)


def read_run_history(config: Configuration, outbox: Outbox) -> History:
    """The baseline and the last run's status; nothing without a report bucket."""
    if not config.report_bucket or outbox.s3 is None:
        return History()
    history = read_history(outbox.s3, config.report_bucket, scope_key(history_scope(config)))
    if history.problem:
        logger.warning("run history not read", extra={"problem": history.problem})
    return history


def is_weekly_digest(report: Report, config: Configuration) -> bool:
    """NOTIFY=changes sends the full digest on WEEKLY_DIGEST_DAY (UTC), and says so."""
    weekday = WEEKDAYS[report.generated_at.weekday()]
    return config.notify == NOTIFY_CHANGES and weekday == config.weekly_digest_day


def publish_reason(report: Report, config: Configuration, history: History) -> str | None:
    """Why this run publishes its digest, or None when NOTIFY says to stay silent."""
    if config.notify == NOTIFY_ALWAYS:
        return "notify=always"
    previous = history.last_status or (history.baseline or {}).get("status")
    if config.notify == NOTIFY_FINDINGS:
        if report.status != Status.COMPLIANT:
            return f"status {report.status}"
        # One all-clear when the status turns COMPLIANT: the day everything was fixed.
        return "all clear" if previous is not None and previous != str(report.status) else None
    changes = report.changes
    if report.status == Status.INCOMPLETE:
        return "incomplete"
    if changes is None or changes.baseline_generated_at is None:
        return "no baseline"
    if changes.new or changes.resolved:
        return "changes"
    if previous != str(report.status):
        return "status changed"
    if is_weekly_digest(report, config):
        return "weekly digest"
    return None


def record_history(
    report: Report, config: Configuration, outbox: Outbox, delivery: Delivery
) -> str | None:
    """After delivery: move the baseline pointer (complete runs whose report is stored)."""
    if not config.report_bucket or outbox.s3 is None:
        return None
    scope = history_scope(config)
    stored = report_keys(report, delivery.run_id)[0] if delivery.report_url else None
    return record_run(outbox.s3, config.report_bucket, scope_key(scope), scope, report, stored)


def summarise(report: Report, delivery: Delivery) -> dict[str, Any]:
    changes = report.changes
    hub = delivery.security_hub
    security_hub = (
        {"imported": hub.imported, "archived": hub.archived, "refused": hub.refused}
        if hub
        else None
    )
    return {
        "run_id": delivery.run_id,
        "status": str(report.status),
        "backups_scanned": report.backups_scanned,
        "backups_noncompliant": report.backups_noncompliant,
        "findings": len(report.findings),
        "new_findings": len(changes.new) if changes else 0,
        "resolved_findings": len(to_archive(changes)),
        "baseline_run_id": changes.baseline_run_id if changes else None,
        "scan_errors": len(report.errors),
        "stopped_early": any(e.code == DEADLINE_CODE for e in report.errors),
        "duration_seconds": round(report.duration_seconds, 3),
        "report": delivery.report_url,
        "published": delivery.published,
        "published_by_an_earlier_attempt": delivery.published_before,
        "findings_in_digest": delivery.digest.findings_shown if delivery.digest else 0,
        "security_hub": security_hub,
    }


def run_scheduled_audit(
    config: Configuration,
    budget: TimeBudget,
    request_id: str,
    session: boto3.session.Session | None = None,
) -> dict[str, Any]:
    session = session or boto3.session.Session()
    report = _scan(config, budget, session)
    return finish_run(report, config, request_id, session, budget)


def finish_run(
    report: Report,
    config: Configuration,
    request_id: str,
    session: boto3.session.Session,
    budget: TimeBudget | None = None,
) -> dict[str, Any]:
    """Everything a run does once its report exists: the run history and what changed,
    metrics, logs, delivery (when NOTIFY says so), the new baseline, the summary.

    Any way of producing a report (one scan, or partial reports merged) ends here."""
    run_id = run_id_for(report.generated_at, request_id)
    report.run_id = run_id
    outbox = Outbox.for_run(session, config.topic_arn, config.report_bucket)
    history = read_run_history(config, outbox)
    report.changes = compute_changes(report, history.baseline, config.policy)
    security_hub = _import_to_security_hub(report, config, session, budget)
    fixes = _auto_fix(report, config, session, outbox, budget)
    reason = publish_reason(report, config, history)
    if reason is None and security_hub is not None and security_hub.problems:
        reason = "security hub import failed"
    if reason is None and fixes:
        reason = "automatic fixes"  # what changed an account is always said
    emit_run_metrics(report, run_id)
    for error in report.errors:
        logger.warning("listing failed", extra={"scan_error": error.to_dict()})
    evidence = _monthly_evidence(report, config, outbox)
    if reason is None and evidence is not None and evidence.key:
        reason = "monthly evidence"  # the digest is where its link goes
    delivery = _deliver(
        report,
        config,
        outbox,
        run_id,
        reason is not None,
        history,
        request_id,
        security_hub,
        evidence,
        fixes,
    )
    if not delivery.failures:  # a retry must compare with the same baseline, and publish
        history_problem = record_history(report, config, outbox, delivery)
        if history_problem:
            delivery.failures.append(history_problem)
    summary = summarise(report, delivery) | {"publish_reason": reason}
    if delivery.marker_problem:
        # A retry of this invocation may send the digest once more; nothing is lost.
        logger.warning("delivery marker", extra={"problem": delivery.marker_problem})
    if delivery.failures:
        logger.error("delivery failed", extra={"summary": summary, "failures": delivery.failures})
        raise DeliveryError("; ".join(delivery.failures))
    logger.info("audit delivered", extra={"summary": summary})
    return summary

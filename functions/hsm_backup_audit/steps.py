"""The three steps of the fan-out on Step Functions: plan, batch, merge.

plan   lists the accounts (Organizations, or the configured roles) and writes the work list
       to the report bucket, a JSON array the Distributed Map reads with its S3 ItemReader.
batch  runs the engine (the scan the command line runs) on one batch of accounts, as
       ItemBatcher hands it over ({"Items": [...], "BatchInput": {...}}), and writes a
       partial report.
merge  reads the partial reports, makes every account without one an error entry, merges
       them and finishes the run exactly as a single run does (`finish_run`).
Every document a step receives is validated; a bad one fails the step with one line.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .aws.cloudhsm import account_id_of_role, caller_account, sts_client
from .aws.delivery import DELIVERY_CONFIG, run_id_for
from .aws.organizations import (
    AccountListingError,
    list_active_accounts,
    member_role_arn,
    partition_of,
)
from .aws.scanner import ScanRequest, scan
from .configuration import Configuration, ConfigurationError
from .constants import (
    ENV_REPORT_BUCKET,
    FANOUT_KEY_PREFIX,
    MAX_REPORT_BYTES,
)
from .engine.audit import Scope, error_order, verdict
from .engine.merge import MergeError, merge, read_partial_text
from .engine.model import ScanError
from .engine.partial import GLOBAL, PartialRecorder, partial_document
from .observability import logger
from .scheduled_audit import TimeBudget, finish_run
from .step_documents import (
    PLAN_NAME,
    BatchEvent,
    MergeInput,
    RunInfo,
    StepInputError,
    WorkItem,
    check_items,
    map_stopped,
    parse_event,
)

__all__ = ["RunInfo", "StepInputError", "merge_run", "plan", "run_batch"]


def _bucket(config: Configuration) -> str:
    if not config.report_bucket:
        raise ConfigurationError(f"{ENV_REPORT_BUCKET} is required by the fan-out")
    return config.report_bucket


def _s3(session: boto3.session.Session) -> Any:
    return session.client("s3", config=DELIVERY_CONFIG)


def _put_json(s3: Any, bucket: str, key: str, document: Any) -> None:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


# --- plan ------------------------------------------------------------------------------
def plan(config: Configuration, request_id: str, session: boto3.session.Session) -> dict[str, Any]:
    """List the accounts, write the work list and the plan; return the run's RunInfo."""
    bucket = _bucket(config)
    now = datetime.now(UTC)
    own = caller_account(sts_client(session, None, None))
    items, errors, skipped = _work_items(config, session, own)
    run = run_id_for(now, request_id)
    info = RunInfo(
        run=run,
        bucket=bucket,
        prefix=f"{FANOUT_KEY_PREFIX}/{run}/",
        generated_at=now,
        accounts=len(items),
    )
    s3 = _s3(session)
    _put_json(s3, bucket, info.work_list, [item.model_dump() for item in items])
    plan_document = {
        "caller_account": own,  # the one account a batch audits with its own credentials
        "accounts": [item.account_id for item in items],
        "errors": [error.to_dict() for error in errors],
        "accounts_skipped": skipped,
    }
    _put_json(s3, bucket, info.prefix + PLAN_NAME, plan_document)
    logger.info("planned", extra={"run": run, "accounts": len(items), "errors": len(errors)})
    return {**info.model_dump(mode="json"), "work_list": info.work_list}


def _work_items(
    config: Configuration, session: boto3.session.Session, own: str
) -> tuple[list[WorkItem], list[ScanError], dict[str, str]]:
    """The caller's own account first (own credentials), then every member by role; the
    errors, and the organization's accounts skipped for their state."""
    items = {own: WorkItem(account_id=own)}
    errors: list[ScanError] = []
    skipped: dict[str, str] = {}
    for role_arn in config.member_role_arns:
        items.setdefault(
            account_id_of_role(role_arn),
            WorkItem(account_id=account_id_of_role(role_arn), role_arn=role_arn),
        )
    if config.organization:
        try:
            members = list_active_accounts(
                session, parent_ids=config.organizational_units, skipped=skipped
            )
        except AccountListingError as exc:
            errors.append(ScanError(own, GLOBAL, exc.operation, exc.code, exc.message))
            members = []
        partition = partition_of(session, config.regions)
        for account_id in members:
            role_arn = member_role_arn(account_id, config.member_role_name, partition)
            items.setdefault(account_id, WorkItem(account_id=account_id, role_arn=role_arn))
    return list(items.values()), errors, dict(sorted(skipped.items()))


# --- batch -----------------------------------------------------------------------------
def partial_key(info: RunInfo, accounts: list[str]) -> str:
    """The same batch always writes the same key, so a retried batch overwrites itself."""
    digest = hashlib.sha256("\0".join(accounts).encode()).hexdigest()[:24]
    return f"{info.partials}{digest}.json"


def run_batch(
    event: Any, config: Configuration, budget: TimeBudget, session: boto3.session.Session
) -> dict[str, Any]:
    batch: BatchEvent = parse_event(BatchEvent, event, "batch")
    info = batch.BatchInput
    accounts = [item.account_id for item in batch.Items]
    s3 = _s3(session)
    planned = json.loads(
        s3.get_object(Bucket=info.bucket, Key=info.prefix + PLAN_NAME)["Body"].read()
    )
    items, refused = check_items(batch.Items, planned)
    recorder = PartialRecorder()
    report = scan(
        ScanRequest(
            regions=config.regions,
            policy=config.policy,
            policy_source=config.policy_source,
            role_arns=[item.role_arn for item in items if item.role_arn],
            external_id=config.external_id,
            max_workers=config.max_workers,
            should_stop=budget.should_stop,
            session=session,
            now=info.generated_at,
            include_caller=any(item.role_arn is None for item in items),
            audit_factory=recorder,
        )
    )
    partial = recorder.partial_info(report, [item.account_id for item in items])
    if refused:  # each an error entry for its account: the run is INCOMPLETE
        report.errors = sorted([*report.errors, *refused], key=error_order)
        report.status = verdict(report.findings, report.errors)
        partial = replace(partial, accounts=tuple(dict.fromkeys([*partial.accounts, *accounts])))
    document = partial_document(report, partial)
    key = partial_key(info, accounts)
    _put_json(s3, info.bucket, key, document)  # a failure fails the batch
    summary = {"partial": key, "accounts": len(accounts), "status": str(report.status)}
    logger.info("batch audited", extra=summary)
    return summary


# --- merge -----------------------------------------------------------------------------
def merge_run(
    event: Any,
    config: Configuration,
    request_id: str,
    session: boto3.session.Session,
    budget: TimeBudget | None = None,
) -> dict[str, Any]:
    """Merge what the batches wrote, then finish the run as a single run does, under the
    invocation's own time budget: the Security Hub import stops SECURITY_HUB_STOP_SECONDS
    before the end, so the report, the history and the digest (saying what was not
    imported) still go out."""
    info: MergeInput = parse_event(MergeInput, event, "merge")
    s3 = _s3(session)
    planned = json.loads(
        s3.get_object(Bucket=info.bucket, Key=info.prefix + PLAN_NAME)["Body"].read()
    )
    partials = list(_read_partials(s3, info))
    scope = Scope(
        regions=config.regions,
        account_id="unknown",
        accounts=(),
        include_shared=config.policy.include_shared,
        policy_source=config.policy_source,
    )
    errors = [ScanError(**error) for error in planned["errors"]]
    if info.batches_error is not None:
        errors.append(map_stopped(info.batches_error, planned["accounts"], len(partials)))
    merged = merge(
        partials,
        planned_accounts=planned["accounts"],
        generated_at=info.generated_at,
        errors=errors,
        empty_scope=scope,
    )
    merged.report.duration_seconds = time.time() - info.generated_at.timestamp()
    skipped = planned.get("accounts_skipped")
    if isinstance(skipped, dict) and skipped:  # the plan listed the organization
        merged.report.scope = replace(
            merged.report.scope,
            accounts_skipped=tuple(sorted((str(a), str(s)) for a, s in skipped.items())),
        )
    return finish_run(merged.report, config, request_id, session, budget)


def _read_partials(s3: Any, info: RunInfo) -> Any:
    """Every readable partial of the run; an unreadable one counts as missing (its
    accounts become error entries) and is logged."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=info.bucket, Prefix=info.partials)
    for page in pages:
        for entry in page.get("Contents", []):
            key = entry["Key"]
            try:
                body = s3.get_object(Bucket=info.bucket, Key=key)["Body"].read(MAX_REPORT_BYTES + 1)
                if len(body) > MAX_REPORT_BYTES:
                    raise MergeError(f"{key}: larger than {MAX_REPORT_BYTES:,} bytes")
                # the run's own time (its batches scanned under it): a part dated later
                # is refused, as a baseline from the future is
                yield read_partial_text(body, key, now=info.generated_at)
            except (MergeError, ValueError, ClientError, BotoCoreError) as exc:
                logger.warning("partial report unreadable", extra={"key": key, "error": str(exc)})

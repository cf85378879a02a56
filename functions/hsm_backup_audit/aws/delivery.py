"""Delivery of one run: the full JSON report to S3 (when configured), then the digest to SNS.

Whatever can be delivered is delivered: when the report cannot be stored the digest
still goes out and says so. Every failure is collected in `Delivery.failures`; the
caller fails the invocation on any of them, so a lost email is never a silent success.

A failed invocation is retried by Lambda with the same request id. So that a retry never
sends the digest twice, a published digest leaves a marker in the report bucket,
deliveries/<request id>.json, and a run whose marker exists does not publish again (it
still stores its report). Without a report bucket there is no marker: the only delivery
failure there is the publish itself, after which nothing went out, so a retry is right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import (
    DELIVERY_KEY_PREFIX,
    REPORT_KEY_PREFIX,
    REPORT_LATEST_NAME,
    SERVICE_NAME,
    Status,
)
from ..engine.audit import Report
from ..engine.digest import Digest, render_digest
from ..engine.model import safe_text
from ..engine.report import to_json
from ..engine.security_hub_outcome import SecurityHubOutcome

# Delivery calls are few and small: bounded so they fit in the time reserve.
DELIVERY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,
    user_agent_extra=SERVICE_NAME,
)


class DeliveryError(RuntimeError):
    """Something could not be delivered. The message lists every failure on one line."""


@dataclass(frozen=True)
class Outbox:
    """The clients delivery uses, passed in so a test can hand over any client."""

    sns: BaseClient
    s3: BaseClient | None = None

    @classmethod
    def for_run(
        cls, session: boto3.session.Session, topic_arn: str, report_bucket: str | None
    ) -> Outbox:
        topic_region = topic_arn.split(":")[3]
        sns = session.client("sns", region_name=topic_region, config=DELIVERY_CONFIG)
        s3 = session.client("s3", config=DELIVERY_CONFIG) if report_bucket else None
        return cls(sns=sns, s3=s3)


@dataclass
class Delivery:
    run_id: str
    report_url: str | None = None
    report_problem: str | None = None
    message_id: str | None = None
    digest: Digest | None = None
    failures: list[str] = field(default_factory=list)
    security_hub: SecurityHubOutcome | None = None  # None: the import is not turned on
    published_before: bool = False  # an earlier attempt of this invocation published it
    marker_problem: str | None = None  # the marker could not be read or written

    @property
    def published(self) -> bool:
        return self.message_id is not None


def _safe_request_id(request_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", request_id)[:64] or "local"


def run_id_for(generated_at: datetime, request_id: str) -> str:
    """Sortable and unique: the run's UTC time, then the Lambda request id."""
    return f"{generated_at:%Y%m%dT%H%M%SZ}-{_safe_request_id(request_id)}"


def delivery_marker_key(request_id: str) -> str:
    """The marker of one invocation: the same for every retry of it."""
    return f"{DELIVERY_KEY_PREFIX}/{_safe_request_id(request_id)}.json"


def published_before(s3: BaseClient, bucket: str, request_id: str, out: Delivery) -> bool:
    """Whether an earlier attempt of this invocation published its digest. When that
    cannot be read, False: a second email is better than none."""
    key = delivery_marker_key(request_id)
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except (ClientError, BotoCoreError) as exc:
        out.marker_problem = describe_failure(f"s3://{bucket}/{key}", exc)
        return False
    return any(item.get("Key") == key for item in listed.get("Contents", []))


def record_publication(s3: BaseClient, bucket: str, request_id: str, out: Delivery) -> None:
    """Written right after the publish. A failure here is not a delivery failure (the
    digest went out): it is reported in `marker_problem`, and the run does not fail for it."""
    key = delivery_marker_key(request_id)
    marker = {
        "run_id": out.run_id,
        "message_id": out.message_id,
        "published_at": datetime.now(UTC).isoformat(),
    }
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(marker).encode("utf-8"),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as exc:
        out.marker_problem = describe_failure(f"s3://{bucket}/{key}", exc)


def report_keys(report: Report, run_id: str) -> tuple[str, str]:
    """(the dated key of this run, the account's latest.json)."""
    account = re.sub(r"[^A-Za-z0-9-]", "", report.scope.account_id) or "unknown"
    day = report.generated_at
    prefix = f"{REPORT_KEY_PREFIX}/{account}"
    return f"{prefix}/{day:%Y/%m/%d}/{run_id}.json", f"{prefix}/{REPORT_LATEST_NAME}"


def describe_failure(action: str, exc: Exception) -> str:
    """One line naming the action and the AWS error code; never credentials."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = safe_text(error.get("Code") or "ClientError", 64)
        message = safe_text(error.get("Message") or "", 200)
        return f"{action}: {code}: {message}" if message else f"{action}: {code}"
    return f"{action}: {type(exc).__name__}: {safe_text(str(exc), 200)}"


def store_report(report: Report, s3: BaseClient, bucket: str, run_id: str, out: Delivery) -> None:
    dated, latest = report_keys(report, run_id)
    body = to_json(report).encode("utf-8")
    for key in (dated, latest):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            problem = describe_failure(f"s3://{bucket}/{key}", exc)
            out.failures.append(problem)
            out.report_problem = out.report_problem or problem
            return
        if key == dated:
            out.report_url = f"s3://{bucket}/{key}"


def publish_digest(digest: Digest, sns: BaseClient, topic_arn: str, out: Delivery) -> None:
    request = {
        "TopicArn": topic_arn,
        "Subject": digest.subject,
        "Message": digest.body,
        "MessageAttributes": digest.attributes,
    }
    if topic_arn.endswith(".fifo"):
        request |= {"MessageGroupId": SERVICE_NAME, "MessageDeduplicationId": out.run_id}
    try:
        out.message_id = str(sns.publish(**request)["MessageId"])
    except (ClientError, BotoCoreError) as exc:
        out.failures.append(describe_failure(f"publish to {topic_arn}", exc))


def deliver(
    report: Report,
    outbox: Outbox,
    *,
    topic_arn: str,
    report_bucket: str | None,
    run_id: str,
    request_id: str | None = None,
    only_when_not_compliant: bool = False,
    publish: bool = True,
    baseline_problem: str | None = None,
    security_hub: SecurityHubOutcome | None = None,
    weekly: bool = False,
    evidence: tuple[str, str] | None = None,
    auto_fix: Sequence[str] = (),
) -> Delivery:
    """Store the report, then publish the digest that links to it (unless `publish` is
    False: NOTIFY decided this run has nothing to say, or an earlier attempt of the same
    invocation, `request_id`, already published it). Never raises for AWS."""
    out = Delivery(run_id=run_id, security_hub=security_hub)
    marker_bucket = report_bucket if request_id and outbox.s3 is not None else None
    if report_bucket and outbox.s3 is not None:
        store_report(report, outbox.s3, report_bucket, run_id, out)
    out.digest = render_digest(
        report,
        run_id=run_id,
        report_url=out.report_url,
        report_problem=out.report_problem,
        baseline_problem=baseline_problem,
        security_hub=security_hub,
        weekly=weekly,
        evidence=evidence,
        auto_fix=auto_fix,
    )
    if not publish or (only_when_not_compliant and report.status == Status.COMPLIANT):
        return out
    if marker_bucket and request_id and outbox.s3 is not None:
        out.published_before = published_before(outbox.s3, marker_bucket, request_id, out)
    if out.published_before:
        return out
    publish_digest(out.digest, outbox.sns, topic_arn, out)
    if out.published and marker_bucket and request_id and outbox.s3 is not None:
        record_publication(outbox.s3, marker_bucket, request_id, out)
    return out

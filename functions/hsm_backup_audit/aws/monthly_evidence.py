"""The previous month's evidence page and CSV in the report bucket, written by the first run
of each month: evidence/<evidence scope>/<YYYY-MM>.html and .csv.

The first run is the one that finds no page for the previous month (a retried or later run
finds it and does nothing more than one HeadObject). The evidence scope is the run
history's scope without the policy (`scope-` and 32 hex digits over the sorted accounts and
regions), so a month whose policy changed is still one page, which lists both policies.
Nothing here raises for AWS: a problem is one line for the log, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ..constants import EVIDENCE_KEY_PREFIX
from ..engine.period import PeriodError, build_period
from .delivery import describe_failure
from .evidence_source import BucketSource, SourceError, read_bucket
from .history import MISSING_CODES, scope_key


@dataclass(frozen=True)
class MonthlyEvidence:
    bucket: str
    key: str | None = None  # the page this run wrote
    problem: str | None = None


def previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def evidence_scope_key(scope: Mapping[str, Any]) -> str:
    return scope_key({"accounts": scope.get("accounts"), "regions": scope.get("regions")})


def page_key(scope: Mapping[str, Any], month: date) -> str:
    return f"{EVIDENCE_KEY_PREFIX}/{evidence_scope_key(scope)}/{month:%Y-%m}.html"


def _exists(s3: BaseClient, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
            return False
        raise
    return True


def write_monthly_evidence(
    s3: BaseClient, bucket: str, scope: Mapping[str, Any], report_prefix: str, now: datetime
) -> MonthlyEvidence | None:
    """Write last month's page when it is not there yet and the month has reports; None when
    there was nothing to write. `report_prefix` is where this scope's reports are
    (reports/<account>/)."""
    from ..render.csv_export import lifecycle_csv  # Jinja2 loads only when a page is written
    from ..render.html import evidence_html

    start, end = previous_month(now.date())
    key = page_key(scope, start)
    wanted = evidence_scope_key(scope)
    try:
        if _exists(s3, bucket, key):
            return None
        source = BucketSource(bucket, f"{report_prefix}{start:%Y/%m}/")
        reports = read_bucket(
            s3, source, start, end, keep=lambda s: evidence_scope_key(s) == wanted
        )
        if not reports:
            return None
        period = build_period(reports, start, end, today=now.date())
        page = evidence_html(
            period,
            sources=[f"s3://{bucket}/{source.prefix}"],
            asked_from=start,
            asked_to=end,
            generated_at=now,
        )
        for name, body, kind in (  # the page last: it is what says the month is done
            (key.removesuffix(".html") + ".csv", lifecycle_csv(period), "text/csv; charset=utf-8"),
            (key, page, "text/html; charset=utf-8"),
        ):
            s3.put_object(Bucket=bucket, Key=name, Body=body.encode("utf-8"), ContentType=kind)
    except (ClientError, BotoCoreError) as exc:
        return MonthlyEvidence(bucket, problem=describe_failure(f"s3://{bucket}/{key}", exc))
    except (SourceError, PeriodError) as exc:
        return MonthlyEvidence(bucket, problem=f"s3://{bucket}/{key}: {exc}")
    return MonthlyEvidence(bucket, key=key)

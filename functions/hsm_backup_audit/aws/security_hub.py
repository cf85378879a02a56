"""Sends a run's ASFF documents to Security Hub (BatchImportFindings).

With the default product ARN, Security Hub takes a finding only from the account it names:
each account's documents go through that account's own session (a member account's
assumed role), into the region of the resource, at most 100 a call. A refused call (no
permission, Security Hub not enabled there), an answer that is not BatchImportFindings'
(not JSON, or without its counts) and every FailedFindings entry is an ImportProblem for
that account and region; the other imports go ahead. Never raises for AWS.

SECURITY_HUB_MAX_WORKERS threads send the (account, region) groups side by side, each
setting up its account's session (AssumeRole) and its own client, closed when its group
is sent. When time runs out nothing new starts and a call still running is abandoned:
every finding not confirmed imported is a DeadlineExceeded problem, counted.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import UnknownRegionError

from ..constants import (
    SECURITY_HUB_BATCH_SIZE,
    SECURITY_HUB_CLIENT_CONNECTIONS,
    SECURITY_HUB_MAX_WORKERS,
)
from ..engine.asff import document_id, run_documents
from ..engine.audit import Report
from ..engine.model import safe_text
from ..engine.policy import Policy
from ..engine.reconcile import to_archive as reconcile
from ..engine.security_hub_outcome import ImportProblem, SecurityHubOutcome
from .cloudhsm import ListingError
from .delivery import DELIVERY_CONFIG
from .errors import describe_exception
from .hub_sessions import CLIENTS_LOCK
from .hub_sessions import AccountSessions as AccountSessions  # where callers find it
from .pool import run_bounded
from .security_hub_read import read_active

SERVICE = "securityhub"
DEFAULT_PARTITION = "aws"
Documents = list[dict[str, Any]]
Group = tuple[str, str]  # account id, region
CLIENT_CONFIG = DELIVERY_CONFIG.merge(Config(max_pool_connections=SECURITY_HUB_CLIENT_CONNECTIONS))


@functools.cache  # a Session costs about 50 ms to make: once per region, not per finding
def partition_of(region: str) -> str:
    """The partition of a region, from botocore's endpoint data (`aws` when it is unknown)."""
    try:
        return str(boto3.session.Session().get_partition_for_region(region))
    except UnknownRegionError:
        return DEFAULT_PARTITION


def _groups(documents: Documents) -> dict[Group, Documents]:
    """Documents by the account they name and the region of their resource, in order."""
    groups: dict[Group, Documents] = {}
    for document in documents:
        where = (document["AwsAccountId"], document["Resources"][0]["Region"])
        groups.setdefault(where, []).append(document)
    return groups


def _batches(documents: Documents) -> list[Documents]:
    size = SECURITY_HUB_BATCH_SIZE
    return [documents[start : start + size] for start in range(0, len(documents), size)]


@dataclass
class _Tally:
    imported: int = 0
    archived: int = 0
    calls: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other: _Tally) -> None:
        with self.lock:
            self.imported += other.imported
            self.archived += other.archived
            self.calls += other.calls
            self.problems.extend(other.problems)


def _failed_findings(where: Group, failed: list[Any]) -> list[ImportProblem]:
    """FailedFindings of one call: one problem per error code, with the first message."""
    by_code: dict[str, list[str]] = {}
    for entry in failed:
        item = entry if isinstance(entry, dict) else {}
        code = safe_text(item.get("ErrorCode") or "FailedFinding", 64)
        message = safe_text(f"{item.get('Id', '?')}: {item.get('ErrorMessage', '')}", 300)
        by_code.setdefault(code, []).append(message)
    return [
        ImportProblem(*where, code, messages[0], len(messages))
        for code, messages in by_code.items()
    ]


def never() -> bool:
    return False


STOPPED = ("DeadlineExceeded", "not sent: the time budget ran out")
ABANDONED = ("DeadlineExceeded", "no answer before the time budget ran out")


def _failed_entries(answer: Any, batch: Documents) -> list[Any]:
    """FailedFindings of a BatchImportFindings answer, checked: the answer must carry
    FailedCount and SuccessCount (required by the API) adding up to the batch, and as many
    FailedFindings as it says failed. Anything else (an answer that is not JSON reads as
    none of these) is malformed, never a success."""
    if isinstance(answer, dict):
        failed = answer.get("FailedFindings", [])
        failed_count, success_count = answer.get("FailedCount"), answer.get("SuccessCount")
        if (
            isinstance(failed, list)
            and _is_count(failed_count)
            and _is_count(success_count)
            and failed_count == len(failed)
            and failed_count + success_count == len(batch)
        ):
            return failed
    raise ListingError(
        "MalformedResponse", "BatchImportFindings: the answer does not account for the findings"
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _send_group(
    where: Group, client: BaseClient, documents: Documents, should_stop: Callable[[], bool]
) -> _Tally:
    """Every batch of one account and region; the first refused call (or answer that
    cannot be read) stops the rest, and so does the time budget (what was not sent is a
    problem, counted)."""
    tally = _Tally()
    batches = _batches(documents)
    for index, batch in enumerate(batches):
        if should_stop():
            left = sum(len(rest) for rest in batches[index:])
            tally.problems.append(ImportProblem(*where, *STOPPED, left))
            break
        try:
            failed = _failed_entries(client.batch_import_findings(Findings=batch), batch)
        except Exception as exc:  # noqa: BLE001 - a refusal is a problem, never a crash
            code, message = describe_exception(exc)
            left = sum(len(rest) for rest in batches[index:])
            tally.problems.append(ImportProblem(*where, code, message, left))
            break
        tally.calls += 1
        refused = {str(entry.get("Id")) for entry in failed if isinstance(entry, dict)}
        for document in batch:
            if document["Id"] in refused:
                continue
            if document.get("RecordState") == "ARCHIVED":
                tally.archived += 1
            else:
                tally.imported += 1
        tally.problems.extend(_failed_findings(where, failed))
    return tally


def send_documents(
    documents: Documents,
    session_for: Callable[[str], boto3.session.Session],
    endpoint_url: str | None = None,
    should_stop: Callable[[], bool] = never,
) -> SecurityHubOutcome:
    """Import the documents, each account and region side by side with the others, at
    most SECURITY_HUB_MAX_WORKERS at once; stop waiting when `should_stop` says so."""
    work = list(_groups(documents).items())
    started: set[int] = set()

    def send(index: int) -> _Tally:
        started.add(index)
        (account_id, region), group = work[index]
        session = session_for(account_id)  # a member account: AssumeRole, once
        with CLIENTS_LOCK:
            client = session.client(
                SERVICE, region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
            )
        try:
            return _send_group((account_id, region), client, group, should_stop)
        finally:
            client.close()  # its connection is not held until the whole import ends

    done = run_bounded(
        list(range(len(work))), send, SECURITY_HUB_MAX_WORKERS, should_stop, "security-hub"
    )
    tally = _Tally()
    for index, ((account_id, region), group) in enumerate(work):
        outcome = done.get(index)
        if outcome is None:
            why = ABANDONED if index in started else STOPPED
            tally.problems.append(ImportProblem(account_id, region, *why, len(group)))
        elif outcome.error is not None:  # no session for this account: a problem
            code, message = describe_exception(outcome.error)
            tally.problems.append(ImportProblem(account_id, region, code, message, len(group)))
        elif outcome.value is not None:
            tally.add(outcome.value)
    problems = sorted(tally.problems, key=lambda p: (p.account_id, p.region, p.code))
    return SecurityHubOutcome(tally.imported, tally.archived, tally.calls, tuple(problems))


def import_run(
    report: Report,
    policy: Policy,
    session_for: Callable[[str], boto3.session.Session],
    endpoint_url: str | None = None,
    should_stop: Callable[[], bool] = never,
) -> SecurityHubOutcome:
    """One run into Security Hub: its findings above INFO, ACTIVE; then, reconciled with
    Security Hub itself, the audit's ACTIVE findings there that this run no longer reports,
    ARCHIVED (engine/reconcile.py: only in cells read completely, never "no longer
    audited"), each the copy Security Hub returned with only its state changed.

    Where its findings could not be read back (a GetFindings problem, or the deadline),
    nothing is archived, not even what the baseline lists as resolved: a document rebuilt
    from the baseline is not the last ACTIVE one (its Description, and a shared backup's
    resource Id, would change). It fails closed; the next run that reads them archives them."""
    changes = report.changes
    first_seen = changes.first_seen if changes else {}
    documents = run_documents(
        report.findings,
        (),
        first_seen=first_seen,
        observed_at=report.generated_at,
        partition_of=partition_of,
    )
    coverage = report.coverage
    groups = sorted({(account, region) for account, region, _ in coverage.read}) if coverage else []
    active, read_problems = read_active(
        groups,
        session_for,
        partition_of,
        endpoint_url=endpoint_url,
        config=CLIENT_CONFIG,
        should_stop=should_stop,
    )
    documents += reconcile(
        [document for found in active.values() for document in found],
        {document_id(finding.id) for finding in report.findings},
        coverage=coverage,
        policy=policy,
        include_shared=report.scope.include_shared,
        observed_at=report.generated_at,
    )
    outcome = send_documents(documents, session_for, endpoint_url, should_stop)
    problems = sorted(
        (*outcome.problems, *read_problems), key=lambda p: (p.account_id, p.region, p.code)
    )
    return replace(outcome, problems=tuple(problems), reconciled=bool(active))

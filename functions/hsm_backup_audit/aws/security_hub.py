"""Sends a run's ASFF documents to Security Hub (BatchImportFindings).

With the default product ARN, Security Hub takes a finding only from the account it names:
each account's documents go through that account's own session (a member account's
assumed role), into the region of the resource, at most 100 a call. A refused call (no
permission, Security Hub not enabled there) and every FailedFindings entry is an
ImportProblem for that account and region; the other imports go ahead. Never raises for AWS.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import UnknownRegionError

from ..constants import SECURITY_HUB_BATCH_SIZE, SECURITY_HUB_MAX_WORKERS
from ..engine.asff import run_documents
from ..engine.audit import Report
from ..engine.changes import to_archive
from ..engine.model import safe_text
from ..engine.policy import Policy
from ..engine.security_hub_outcome import ImportProblem, SecurityHubOutcome
from .cloudhsm import (
    DEFAULT_LIMITS,
    ClientLimits,
    account_id_of_role,
    assume_role,
    caller_account,
    sts_client,
)
from .delivery import DELIVERY_CONFIG
from .errors import describe_exception
from .organizations import member_role_arn
from .organizations import partition_of as organization_partition

SERVICE = "securityhub"
DEFAULT_PARTITION = "aws"
Documents = list[dict[str, Any]]
Group = tuple[str, str]  # account id, region


@functools.cache  # a Session costs about 50 ms to make: once per region, not per finding
def partition_of(region: str) -> str:
    """The partition of a region, from botocore's endpoint data (`aws` when it is unknown)."""
    try:
        return str(boto3.session.Session().get_partition_for_region(region))
    except UnknownRegionError:
        return DEFAULT_PARTITION


@dataclass
class AccountSessions:
    """The session to import each account's findings with: the caller's own for its own
    account, the member role's for a member account (assumed once, when first needed)."""

    session: boto3.session.Session
    role_arns: Sequence[str] = ()
    external_id: str | None = None
    endpoint_url: str | None = None
    limits: ClientLimits = DEFAULT_LIMITS
    member_role_name: str | None = None  # organization mode: this role in any other account
    _cache: dict[str, boto3.session.Session] = field(default_factory=dict, init=False)
    _own: str | None = field(default=None, init=False)

    def _sts(self) -> Any:
        return sts_client(self.session, None, self.endpoint_url, self.limits)

    def __call__(self, account_id: str) -> boto3.session.Session:
        if account_id in self._cache:
            return self._cache[account_id]
        if self._own is None:
            self._own = caller_account(self._sts())
        if account_id == self._own:
            found = self.session
        else:
            roles = [arn for arn in self.role_arns if account_id_of_role(arn) == account_id]
            if not roles and self.member_role_name:
                partition = organization_partition(self.session, ())
                roles = [member_role_arn(account_id, self.member_role_name, partition)]
            if not roles:
                raise LookupError(f"no member role is configured for account {account_id}")
            found = assume_role(self._sts(), roles[0], self.external_id, None).session
        self._cache[account_id] = found
        return found


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


def _send_group(
    where: Group, client: BaseClient, documents: Documents, should_stop: Callable[[], bool]
) -> _Tally:
    """Every batch of one account and region; the first refused call stops the rest, and
    so does the time budget (what was not sent is a problem, counted)."""
    tally = _Tally()
    batches = _batches(documents)
    for index, batch in enumerate(batches):
        if should_stop():
            left = sum(len(rest) for rest in batches[index:])
            tally.problems.append(ImportProblem(*where, *STOPPED, left))
            break
        try:
            answer = client.batch_import_findings(Findings=batch)
        except Exception as exc:  # noqa: BLE001 - a refusal is a problem, never a crash
            code, message = describe_exception(exc)
            left = sum(len(rest) for rest in batches[index:])
            tally.problems.append(ImportProblem(*where, code, message, left))
            break
        tally.calls += 1
        failed = answer.get("FailedFindings") or []
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
    """Import the documents, each account and region side by side with the others."""
    tally = _Tally()
    work: list[tuple[Group, BaseClient, Documents]] = []
    for where, group in _groups(documents).items():
        account_id, region = where
        try:  # sessions and clients are made here: a boto3 Session is not thread-safe
            session = session_for(account_id)
            client = session.client(
                SERVICE, region_name=region, endpoint_url=endpoint_url, config=DELIVERY_CONFIG
            )
        except Exception as exc:  # noqa: BLE001 - no session for this account: a problem
            code, message = describe_exception(exc)
            tally.problems.append(ImportProblem(account_id, region, code, message, len(group)))
            continue
        work.append((where, client, group))
    if work:
        workers = min(SECURITY_HUB_MAX_WORKERS, len(work))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="security-hub") as pool:
            sent = pool.map(lambda job: _send_group(job[0], job[1], job[2], should_stop), work)
            for result in sent:
                tally.add(result)
    problems = sorted(tally.problems, key=lambda p: (p.account_id, p.region, p.code))
    return SecurityHubOutcome(tally.imported, tally.archived, tally.calls, tuple(problems))


def import_run(
    report: Report,
    policy: Policy,
    session_for: Callable[[str], boto3.session.Session],
    endpoint_url: str | None = None,
    should_stop: Callable[[], bool] = never,
) -> SecurityHubOutcome:
    """One run into Security Hub: its findings above INFO, and the ones resolved since the
    baseline (`report.changes`; none without one). Only what this run read completely can
    be resolved (`changes.not_checked` is never archived), and a finding whose rule or
    listing the policy stopped ("no longer audited") is left as it was: never PASSED."""
    changes = report.changes
    documents = run_documents(
        report.findings,
        to_archive(changes),
        first_seen=changes.first_seen if changes else {},
        observed_at=report.generated_at,
        partition_of=partition_of,
        exemptions=policy.exemptions,
    )
    return send_documents(documents, session_for, endpoint_url, should_stop)

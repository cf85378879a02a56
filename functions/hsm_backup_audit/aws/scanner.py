"""Runs every listing (account x region x clusters/owned/shared) side by side.

Workers page through one listing each and hand pages to the calling thread,
which alone feeds the Audit, so the report does not depend on arrival order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError, PaginationError

from ..constants import DEFAULT_MAX_WORKERS, DEFAULT_MEMBER_ROLE_NAME, RETRY_MODE
from ..engine.audit import Audit, Report, Scope
from ..engine.model import ScanError, safe_text
from ..engine.policy import Policy
from .cloudhsm import (
    DEFAULT_LIMITS,
    SERVICE,
    Account,
    ClientLimits,
    ListingError,
    assume_role,
    backup_pages,
    caller_account,
    client_config,
    cluster_pages,
)
from .organizations import (
    AccountListingError,
    list_active_accounts,
    member_role_arn,
    partition_of,
)

CLUSTERS, OWNED, SHARED = "clusters", "owned", "shared"
OPERATION = {CLUSTERS: "DescribeClusters", OWNED: "DescribeBackups", SHARED: "DescribeBackups"}
GLOBAL = "global"
# How often a waiting thread looks up: a worker blocked on a full queue, or the main loop
# waiting for a page while the time budget may have run out.
POLL_SECONDS = 0.2


def never() -> bool:
    return False


@dataclass(frozen=True)
class ScanRequest:
    regions: Sequence[str]
    policy: Policy
    policy_source: str = "defaults"
    role_arns: Sequence[str] = ()
    external_id: str | None = None
    endpoint_url: str | None = None
    max_workers: int = DEFAULT_MAX_WORKERS
    retry_mode: str = RETRY_MODE
    should_stop: Callable[[], bool] = never
    session: boto3.session.Session | None = None
    now: datetime | None = None
    limits: ClientLimits = DEFAULT_LIMITS  # timeouts and attempts per call (tests shrink them)
    # A batch of a fan-out audits its caller's own account only when it is in the batch.
    include_caller: bool = True
    audit_factory: Callable[[Policy, datetime], Audit] = Audit  # PartialAudit for a partial
    # Organization mode: every ACTIVE account (under these units, if any) through one role.
    organization: bool = False
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    organizational_units: Sequence[str] = ()


@dataclass(frozen=True)
class _Listing:
    account_id: str
    region: str
    kind: str
    client: BaseClient = field(compare=False, hash=False, repr=False)

    @property
    def operation(self) -> str:
        return OPERATION[self.kind]


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """(code, one-line message) for an error entry. Never includes credentials."""
    if isinstance(exc, ListingError):
        return exc.code, exc.message
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return safe_text(error.get("Code") or "ClientError", 64), safe_text(
            error.get("Message") or str(exc), 300
        )
    if isinstance(exc, PaginationError):  # its text quotes the token: say it without
        return "RepeatedNextToken", "the same NextToken came back twice"
    return type(exc).__name__, safe_text(str(exc), 300)


def _accounts(request: ScanRequest, session: boto3.session.Session, audit: Audit) -> list[Account]:
    accounts: list[Account] = []
    try:
        if request.include_caller:
            own = caller_account(session, request.endpoint_url, request.limits)
            accounts.append(Account(own, session))
    except Exception as exc:  # noqa: BLE001 - even a garbled answer is an error entry
        code, message = describe_exception(exc)
        audit.add_error(ScanError("unknown", GLOBAL, "GetCallerIdentity", code, message))
    own_id = accounts[0].account_id if accounts else None
    for role_arn in [*request.role_arns, *_organization_roles(request, session, own_id, audit)]:
        try:
            account = assume_role(
                session, role_arn, request.external_id, request.endpoint_url, request.limits
            )
        except Exception as exc:  # noqa: BLE001 - even a garbled answer is an error entry
            code, message = describe_exception(exc)
            account_id = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "unknown"
            audit.add_error(ScanError(account_id, GLOBAL, "AssumeRole", code, message))
            continue
        if all(a.account_id != account.account_id for a in accounts):
            accounts.append(account)
    return accounts


def _organization_roles(
    request: ScanRequest, session: boto3.session.Session, own_id: str | None, audit: Audit
) -> list[str]:
    """The member role of each listed account but the caller's own and those given by ARN.

    A listing that fails is an error entry (the run is INCOMPLETE), never "no accounts"."""
    if not request.organization:
        return []
    try:
        members = list_active_accounts(
            session,
            parent_ids=request.organizational_units,
            endpoint_url=request.endpoint_url,
            limits=request.limits,
            should_stop=request.should_stop,
        )
    except AccountListingError as exc:
        audit.add_error(
            ScanError(own_id or "unknown", GLOBAL, exc.operation, exc.code, exc.message)
        )
        return []
    partition = partition_of(session, request.regions)
    given = {arn.split(":")[4] for arn in request.role_arns if arn.count(":") >= 5}
    return [
        member_role_arn(account_id, request.member_role_name, partition)
        for account_id in members
        if account_id != own_id and account_id not in given
    ]


def _plan(request: ScanRequest, accounts: list[Account]) -> list[_Listing]:
    config = client_config(request.max_workers, request.retry_mode, request.limits)
    kinds = [CLUSTERS, OWNED] + ([SHARED] if request.policy.include_shared else [])
    listings: list[_Listing] = []
    for account in accounts:
        for region in request.regions:
            client = account.session.client(
                SERVICE, region_name=region, endpoint_url=request.endpoint_url, config=config
            )
            listings.extend(_Listing(account.account_id, region, kind, client) for kind in kinds)
    return listings


def _walk(listing: _Listing, should_stop: Callable[[], bool]) -> Iterator[list[Any]]:
    if listing.kind == CLUSTERS:
        return cluster_pages(listing.client, should_stop)
    return backup_pages(listing.client, listing.kind == SHARED, should_stop)


def _put(out: queue.Queue[tuple[Any, ...]], item: tuple[Any, ...], gone: threading.Event) -> bool:
    """Hand a result to the main loop; give up once nobody is reading any more."""
    while not gone.is_set():
        try:
            out.put(item, timeout=POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False


def _run_listing(
    listing: _Listing,
    should_stop: Callable[[], bool],
    out: queue.Queue[tuple[Any, ...]],
    gone: threading.Event,
) -> None:
    def stop() -> bool:
        return gone.is_set() or should_stop()

    try:
        for page in _walk(listing, stop):
            if not _put(out, ("page", listing, page), gone):
                return
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error entry
        _put(out, ("failed", listing, exc), gone)
    else:
        _put(out, ("done", listing, None), gone)


def _fold(audit: Audit, listing: _Listing, page: list[Any]) -> None:
    """Feed one page to the audit. A page that cannot be read is an error entry, not a crash."""
    try:
        if listing.kind == CLUSTERS:
            audit.add_clusters(listing.account_id, listing.region, page)
        else:
            audit.add_backups(listing.account_id, listing.region, listing.kind == SHARED, page)
    except Exception as exc:  # noqa: BLE001 - the run goes on, INCOMPLETE
        code, message = describe_exception(exc)
        audit.add_error(
            ScanError(listing.account_id, listing.region, listing.operation, code, message)
        )


Held = dict[tuple[str, str], list[tuple[_Listing, list[Any]]]]


def _handle(
    audit: Audit, waiting: Held, running: set[_Listing], event: str, listing: _Listing, payload: Any
) -> None:
    """One event from a worker: a page, or the end of a listing (done or failed)."""
    where = (listing.account_id, listing.region)
    if event == "page":
        if listing.kind != CLUSTERS and where in waiting:
            waiting[where].append((listing, payload))  # the region's clusters are not in yet
        else:
            _fold(audit, listing, payload)
        return
    running.discard(listing)
    if event == "failed":
        code, message = describe_exception(payload)
        audit.add_error(ScanError(*where, listing.operation, code, message))
        if listing.kind == CLUSTERS:
            audit.clusters_unavailable(*where)
        elif listing.kind == OWNED:
            audit.backups_unavailable(*where)
    if listing.kind == CLUSTERS:
        for held, page in waiting.pop(where, []):
            _fold(audit, held, page)


def scan(request: ScanRequest) -> Report:
    started = time.monotonic()
    session = request.session or boto3.session.Session()
    now = request.now or datetime.now(UTC)
    audit = request.audit_factory(request.policy, now)
    accounts = _accounts(request, session, audit)
    for account in accounts:  # every audited account is in the breakdown, zero or not
        audit.by_account.setdefault(account.account_id, 0)
    listings = _plan(request, accounts)

    results: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=max(64, 4 * len(listings)))
    waiting: Held = {(lst.account_id, lst.region): [] for lst in listings}
    running = set(listings)
    gone = threading.Event()  # set when the main loop leaves: workers stop and never block
    workers = max(1, min(request.max_workers, len(listings) or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listing")
    abandoned = False  # listings left stuck in a call when time ran out
    try:
        for listing in listings:
            pool.submit(_run_listing, listing, request.should_stop, results, gone)
        while running:
            try:
                event, listing, payload = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not request.should_stop():
                    continue
                # Out of time and the listings still running are stuck in a call: do not
                # wait for their timeouts. Each is an error entry; what was read is kept.
                stuck = ListingError("DeadlineExceeded", "stopped waiting: the time budget ran out")
                pending = [("failed", listing, stuck) for listing in running]
                abandoned = True
            else:
                pending = [(event, listing, payload)]
            for event, listing, payload in pending:
                _handle(audit, waiting, running, event, listing, payload)
    finally:
        gone.set()
        # Join the workers only when all have ended; a stuck one ends on its own timeout.
        pool.shutdown(wait=not (running or abandoned), cancel_futures=True)

    account_ids = tuple(a.account_id for a in accounts)
    scope = Scope(
        regions=tuple(request.regions),
        account_id=account_ids[0] if account_ids else "unknown",
        accounts=account_ids,
        include_shared=request.policy.include_shared,
        policy_source=request.policy_source,
    )
    report = audit.finish(scope)
    report.duration_seconds = time.monotonic() - started
    return report

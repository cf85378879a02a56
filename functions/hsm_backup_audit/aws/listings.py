"""Every listing (account x region x clusters/owned/shared) read side by side.

Workers page through one listing each and hand pages to the calling thread,
which alone feeds the Audit, so the report does not depend on arrival order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient

from ..constants import CLOUDHSM_CLIENT_CONNECTIONS
from ..engine.audit import Audit
from ..engine.model import ScanError
from .accounts import AccountPlan
from .clients import ListingClients
from .cloudhsm import ListingError, backup_pages, client_config, cluster_pages
from .errors import describe_exception
from .scan_request import ScanRequest

CLUSTERS, OWNED, SHARED = "clusters", "owned", "shared"
OPERATION = {CLUSTERS: "DescribeClusters", OWNED: "DescribeBackups", SHARED: "DescribeBackups"}
# How often a waiting thread looks up: a worker blocked on a full queue, or the main loop
# waiting for a page while the time budget may have run out.
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Listing:
    account_id: str
    region: str
    kind: str
    session: boto3.session.Session = field(compare=False, hash=False, repr=False)

    @property
    def operation(self) -> str:
        return OPERATION[self.kind]

    @property
    def pair(self) -> tuple[str, str]:
        return self.account_id, self.region


def plan_listings(request: ScanRequest, plans: list[AccountPlan]) -> list[Listing]:
    """The listings in order, those of one account and region next to each other."""
    kinds = [CLUSTERS, OWNED] + ([SHARED] if request.policy.include_shared else [])
    return [
        Listing(plan.account.account_id, region, kind, plan.account.session)
        for plan in plans
        for region in plan.regions
        for kind in kinds
    ]


def _clients(request: ScanRequest, listings: list[Listing]) -> ListingClients:
    config = client_config(
        request.max_workers, request.retry_mode, request.limits, CLOUDHSM_CLIENT_CONNECTIONS
    )
    return ListingClients((lst.pair for lst in listings), config, request.endpoint_url)


def _walk(
    listing: Listing, client: BaseClient, should_stop: Callable[[], bool]
) -> Iterator[list[Any]]:
    if listing.kind == CLUSTERS:
        return cluster_pages(client, should_stop)
    return backup_pages(client, listing.kind == SHARED, should_stop)


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
    listing: Listing,
    clients: ListingClients,
    should_stop: Callable[[], bool],
    out: queue.Queue[tuple[Any, ...]],
    gone: threading.Event,
) -> None:
    def stop() -> bool:
        return gone.is_set() or should_stop()

    try:
        client = clients.acquire(listing.pair, listing.session)
        for page in _walk(listing, client, stop):
            if not _put(out, ("page", listing, page), gone):
                return
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error entry
        _put(out, ("failed", listing, exc), gone)
    else:
        _put(out, ("done", listing, None), gone)
    finally:
        clients.release(listing.pair)


def _fold(audit: Audit, listing: Listing, page: list[Any]) -> None:
    """Feed one page to the audit. A page that cannot be read is an error entry, not a crash."""
    try:
        if listing.kind == CLUSTERS:
            audit.add_clusters(listing.account_id, listing.region, page)
        else:
            audit.add_backups(listing.account_id, listing.region, listing.kind == SHARED, page)
    except Exception as exc:  # noqa: BLE001 - the run goes on, INCOMPLETE
        code, message = describe_exception(exc)
        audit.add_error(
            ScanError(
                listing.account_id, listing.region, listing.operation, code, message, listing.kind
            )
        )


Held = dict[tuple[str, str], list[tuple[Listing, list[Any]]]]


def _handle(
    audit: Audit, waiting: Held, running: set[Listing], event: str, listing: Listing, payload: Any
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
    if event == "done":
        audit.listing_read(*where, listing.kind)
    if event == "failed":
        code, message = describe_exception(payload)
        audit.add_error(ScanError(*where, listing.operation, code, message, listing.kind))
        if listing.kind == CLUSTERS:
            audit.clusters_unavailable(*where)
        elif listing.kind == OWNED:
            audit.backups_unavailable(*where)
    if listing.kind == CLUSTERS:
        for held, page in waiting.pop(where, []):
            _fold(audit, held, page)


def _start_workers(
    listings: list[Listing],
    clients: ListingClients,
    request: ScanRequest,
    results: queue.Queue[tuple[Any, ...]],
    gone: threading.Event,
) -> list[threading.Thread]:
    """Daemon threads: one stuck in a call when time runs out never keeps the process alive."""
    todo: queue.SimpleQueue[Listing] = queue.SimpleQueue()
    for listing in listings:
        todo.put(listing)

    def work() -> None:
        while not gone.is_set():
            try:
                listing = todo.get_nowait()
            except queue.Empty:
                return
            _run_listing(listing, clients, request.should_stop, results, gone)

    count = max(1, min(request.max_workers, len(listings) or 1))
    threads = [
        threading.Thread(target=work, name=f"listing-{n}", daemon=True) for n in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads


def read_listings(audit: Audit, listings: list[Listing], request: ScanRequest) -> None:
    """Every listing side by side; returns when all ended or time ran out."""
    results: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=max(64, 4 * len(listings)))
    waiting: Held = {(lst.account_id, lst.region): [] for lst in listings}
    running = set(listings)
    gone = threading.Event()  # set when the main loop leaves: workers stop and never block
    abandoned = False  # listings left stuck in a call when time ran out
    clients = _clients(request, listings)
    threads = _start_workers(listings, clients, request, results, gone)
    try:
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
        if not (running or abandoned):  # all ended: join them; a stuck one is left behind
            for thread in threads:
                thread.join()
        clients.close_all()

"""CloudHSM clients made when a listing starts and closed when the last listing of their
account and region ends, so a run never holds one per account x region.

An endpoint keeps its connections open (keep-alive): a client left open holds its sockets
until it is collected, and Lambda allows 1,024 file descriptors. The listings of one
account and region are queued next to each other, so at most `workers + 1` clients are
open at once, each with at most CLOUDHSM_CLIENT_CONNECTIONS sockets.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from .cloudhsm import SERVICE

Pair = tuple[str, str]  # account id, region


class ListingClients:
    """One client per (account, region), counted out to its listings."""

    def __init__(self, pairs: Iterable[Pair], config: Config, endpoint_url: str | None) -> None:
        self._left = Counter(pairs)  # listings not yet ended, per pair
        self._config = config
        self._endpoint_url = endpoint_url
        self._open: dict[Pair, BaseClient] = {}
        self._lock = threading.Lock()
        # A boto3 Session is not thread-safe: one client made at a time per account (each
        # account has its own session), while other accounts' are made side by side.
        self._making = {account_id: threading.Lock() for account_id, _ in self._left}

    def acquire(self, pair: Pair, session: boto3.session.Session) -> BaseClient:
        with self._making[pair[0]]:
            with self._lock:
                client = self._open.get(pair)
            if client is None:
                client = session.client(
                    SERVICE,
                    region_name=pair[1],
                    endpoint_url=self._endpoint_url,
                    config=self._config,
                )
                with self._lock:
                    self._open[pair] = client
            return client

    def release(self, pair: Pair) -> None:
        """One listing of the pair ended; the last one closes the client."""
        with self._lock:
            self._left[pair] -= 1
            client = self._open.pop(pair, None) if self._left[pair] <= 0 else None
        if client is not None:
            client.close()

    def close_all(self) -> None:
        """Every client still open, once the run stops waiting (a listing abandoned when
        time ran out then ends sooner)."""
        with self._lock:
            clients, self._open = list(self._open.values()), {}
        for client in clients:
            client.close()

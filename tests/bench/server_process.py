"""A FleetServer in a child process, seeded there and steered through a pipe.

The moto server costs CPU per page that the real API spends on its own machines. In its
own process it gets its own interpreter lock, so what the scan pays is measured alone.
And a call answers `latency` after it came in, moto's own work included, as the real
API's latency includes its work (FaultLayer.latency would add moto's work on top).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from hsm_backup_audit_demo import Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

Environ = dict[str, Any]
BACKUPS_PER_CLUSTER = 250


@dataclass(frozen=True)
class Listing:
    """`backups` compliant backups of one account in one region."""

    account_id: str
    region: str
    backups: int


def seed(listings: Sequence[Listing], now: datetime) -> None:
    """Healthy clusters (90 days' retention) holding hourly, compliant backups."""
    for spec in listings:
        fleet = Fleet(spec.account_id)
        left = spec.backups
        while left > 0:
            cluster = fleet.add_cluster(spec.region, retention_days=90)
            for hour in range(min(left, BACKUPS_PER_CLUSTER)):
                fleet.add_backup(spec.region, cluster, created=now - timedelta(hours=hour + 1))
            left -= BACKUPS_PER_CLUSTER


class AnswerAfter:
    """WSGI wrapper: the answer leaves no sooner than `latency` after the call came in,
    and carries timestamps as epoch seconds, as the real API sends them (moto sends naive
    ISO strings, which botocore parses with dateutil at several ms a page)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.latency = 0.0

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> list[bytes]:
        started = time.monotonic()
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            answer["status"], answer["headers"] = status, headers

        body = _epoch_timestamps(b"".join(self.app(environ, capture)))
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "content-length"]
        left = self.latency - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)
        start_response(answer["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def _epoch_timestamps(body: bytes) -> bytes:
    if not body.startswith(b'{"Backups"') and not body.startswith(b'{"Clusters"'):
        return body
    document = json.loads(body)
    for item in document.get("Backups") or document.get("Clusters") or []:
        for key, value in item.items():
            if key.endswith("Timestamp") and isinstance(value, str):
                moment = datetime.fromisoformat(value)
                item[key] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return json.dumps(document).encode()


def _throttle_every(n: int) -> Fault:
    return Fault("throttle", every=n, when=lambda call: call.operation.startswith("Describe"))


def _serve(pipe: Connection, listings: Sequence[Listing], now: datetime) -> None:
    server = FleetServer().start()
    seed(listings, now)
    pipe.send(server.url)
    layer = server.layer
    padded = AnswerAfter(layer.app)
    layer.app = padded
    while True:
        command, argument = pipe.recv()
        if command == "stop":
            break
        if command == "reset":  # latency in seconds, throttle every n-th call (0: never)
            latency, every = argument
            layer.clear()
            padded.latency = latency
            layer.faults = [_throttle_every(every)] if every else []
            pipe.send(None)
        elif command == "calls":
            pipe.send([(c.operation, c.params, c.at) for c in list(layer.calls)])
    server.stop()


class ServerProcess:
    """`with ServerProcess(listings, now) as server:` a seeded moto server elsewhere."""

    def __init__(self, listings: Sequence[Listing], now: datetime) -> None:
        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, list(listings), now), daemon=True
        )
        self.url = ""

    def __enter__(self) -> ServerProcess:
        self._process.start()
        self.url = str(self._pipe.recv())
        return self

    def __exit__(self, *_: object) -> None:
        self._pipe.send(("stop", None))
        self._process.join(timeout=10)
        if self._process.is_alive() and self._process.pid:
            os.kill(self._process.pid, 9)

    def reset(self, latency: float = 0.0, throttle_every: int = 0) -> None:
        """Forget recorded calls; set the latency per call and the throttling."""
        self._pipe.send(("reset", (latency, throttle_every)))
        self._pipe.recv()

    def calls(self) -> list[tuple[str, dict[str, Any], float]]:
        """(operation, parameters, monotonic arrival time) of every call since reset."""
        self._pipe.send(("calls", None))
        calls: list[tuple[str, dict[str, Any], float]] = self._pipe.recv()
        return calls

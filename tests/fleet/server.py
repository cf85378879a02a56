"""A moto server with a fault and latency layer in front, for end-to-end tests and benchmarks.

It runs in this process (so a `Fleet` can seed its backend) and records every call,
so tests can assert what was asked (MaxResults, Shared, how many pages).
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Call:
    operation: str
    region: str
    access_key: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # when the call came in, for overlap


@dataclass
class Fault:
    """What to do to matching calls. `action` is one of:
    throttle, error500, error503, deny, expired, reset, hang, mutate,
    garble (200 OK with a body no parser reads, as a captive proxy would send),
    drip (the real answer, one byte every `drip_seconds`, for at most `hang_seconds`),
    fresh_token (the first page again, with a new NextToken every time: a listing that
    never ends; with `renumber`, every item gets a new id too, so nothing repeats),
    rewrite (the raw answer body passed through `rewrite`: XML answers, STS and EC2),
    reply (answer `reply` with 200 OK, as the service would, without asking moto)."""

    action: str
    operation: str | None = None
    region: str | None = None
    when: Callable[[Call], bool] | None = None
    every: int | None = None  # only every n-th matching call
    times: int | None = None  # at most this many times
    mutate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    hang_seconds: float = 30.0
    drip_seconds: float = 1.0
    renumber: bool = False
    rewrite: Callable[[bytes], bytes] | None = None
    reply: bytes | None = None
    code: str | None = None  # another error code for the error actions, e.g. KMSDisabled
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def applies(self, call: Call) -> bool:
        if self.operation and call.operation != self.operation:
            return False
        if self.region and call.region != self.region:
            return False
        if self.when and not self.when(call):
            return False
        self.seen += 1
        if self.every and self.seen % self.every:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "error500": (500, "CloudHsmInternalFailureException", "Internal failure"),
    "error503": (503, "ServiceUnavailableException", "Service unavailable"),
    "deny": (400, "CloudHsmAccessDeniedException", "User is not authorized"),
    "expired": (400, "ExpiredTokenException", "The security token included is expired"),
}


def _describe_call(environ: Environ, body: bytes) -> Call:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    credential = auth.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in auth else ""
    scope = credential.split("/")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    params: dict[str, Any] = {}
    if target or "json" in environ.get("CONTENT_TYPE", ""):  # JSON, or REST JSON
        operation = target.rsplit(".", 1)[-1] if target else environ.get("PATH_INFO", "")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    else:
        form = parse_qs(body.decode("utf-8", "replace"))
        params = {key: values[0] for key, values in form.items()}
        operation = str(params.get("Action", environ.get("PATH_INFO", "")))
    return Call(
        operation=operation,
        region=scope[2] if len(scope) > 2 else "",
        access_key=scope[0],
        params=params,
    )


def _json(mutate: Callable[[dict[str, Any]], dict[str, Any]], raw: bytes) -> bytes:
    return json.dumps(mutate(json.loads(raw or b"{}")), default=str).encode()


class FaultLayer:
    """WSGI middleware: records calls, adds latency, injects faults."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.latency = 0.0
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.faults = []
            self.calls = []

    def calls_to(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = _describe_call(environ, body)
        with self._lock:
            recorded = not environ.get("PATH_INFO", "").startswith("/moto-api")
            if recorded:
                self.calls.append(call)
            latency = self.latency if recorded else 0.0
            fault = next((f for f in self.faults if f.applies(call)), None) if recorded else None
        if latency:
            time.sleep(latency)
        if fault is None:
            return self.app(environ, start_response)
        if fault.action in _ERRORS:
            status, code, message = _ERRORS[fault.action]
            code = fault.code or code
            rest_json = "json" in environ.get("CONTENT_TYPE", "")  # e.g. Security Hub
            if not environ.get("HTTP_X_AMZ_TARGET") and not rest_json:  # query (STS): XML
                xml = (
                    f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                    f"<Message>{message}</Message></Error><RequestId>fault</RequestId>"
                    "</ErrorResponse>"
                )
                start_response(f"{status} {code}", [("Content-Type", "text/xml")])
                return [xml.encode()]
            payload = json.dumps({"__type": code, "message": message}).encode()
            start_response(
                f"{status} {code}",
                [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)],
            )
            return [payload]
        if fault.action == "hang":
            time.sleep(fault.hang_seconds)
            return self.app(environ, start_response)
        if fault.action == "garble":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html><body>Proxy login required"]
        if fault.action == "reset":
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                sock.close()
            start_response("200 OK", [("Content-Length", "100000")])
            return [b'{"Backups": [']
        if fault.action == "mutate" and fault.mutate is not None:
            mutate = fault.mutate
            return self._rewritten(environ, start_response, lambda raw: _json(mutate, raw))
        if fault.action == "rewrite" and fault.rewrite is not None:
            return self._rewritten(environ, start_response, fault.rewrite)
        if fault.action == "reply" and fault.reply is not None:
            start_response("200 OK", [("Content-Type", "text/xml")])
            return [fault.reply]
        if fault.action == "drip":
            return self._dripped(environ, start_response, fault)
        if fault.action == "fresh_token":
            return self._endless(environ, start_response, fault)
        raise ValueError(f"unknown fault action {fault.action}")

    def _answer(self, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"], captured["headers"] = status, headers

        raw = b"".join(self.app(environ, capture))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return captured["status"], headers, raw

    def _rewritten(
        self,
        environ: Environ,
        start_response: StartResponse,
        rewrite: Callable[[bytes], bytes],
    ) -> Iterable[bytes]:
        status, headers, raw = self._answer(environ)
        payload = rewrite(raw)
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]

    def _dripped(
        self, environ: Environ, start_response: StartResponse, fault: Fault
    ) -> Iterable[bytes]:
        """Each byte arrives well within any read timeout; the whole answer never does."""
        status, headers, raw = self._answer(environ)
        start_response(status, [*headers, ("Content-Length", str(len(raw)))])

        def drip() -> Iterable[bytes]:
            ends = time.monotonic() + fault.hang_seconds
            for index in range(len(raw)):
                if time.monotonic() >= ends:
                    return  # cut short: the client sees a truncated answer
                yield raw[index : index + 1]
                time.sleep(fault.drip_seconds)

        return drip()

    def _endless(
        self, environ: Environ, start_response: StartResponse, fault: Fault
    ) -> Iterable[bytes]:
        """The first page again (the NextToken asked for is dropped), with a new token."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        params = json.loads(environ["wsgi.input"].read(length) or b"{}")
        params.pop("NextToken", None)
        body = json.dumps(params).encode()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        turn = fault.fired

        def endless(answer: dict[str, Any]) -> dict[str, Any]:
            for key in ("Backups", "Clusters") if fault.renumber else ():
                for item in answer.get(key) or []:
                    for field_name in ("BackupId", "BackupArn", "ClusterId"):
                        if isinstance(item.get(field_name), str):
                            item[field_name] = f"{item[field_name]}-{turn}"
            return {**answer, "NextToken": f"fresh-{turn}-{time.monotonic_ns()}"}

        return self._rewritten(environ, start_response, lambda raw: _json(endless, raw))


def describe_regions_answer(statuses: dict[str, str]) -> bytes:
    """EC2 DescribeRegions as the API documents it, region name -> OptInStatus (moto's
    own EC2 takes seconds to start in each account)."""
    items = "".join(
        f"<item><regionName>{name}</regionName>"
        f"<regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint>"
        f"<optInStatus>{status}</optInStatus></item>"
        for name, status in statuses.items()
    )
    return (
        '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>fault</requestId><regionInfo>{items}</regionInfo>"
        "</DescribeRegionsResponse>"
    ).encode()


class FleetServer:
    """A threaded moto server on loopback with a FaultLayer in front of it."""

    def __init__(self, port: int = 0) -> None:
        self.layer = FaultLayer(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, self.layer, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> FleetServer:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

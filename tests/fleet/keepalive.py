"""An HTTP/1.1 front that keeps connections open, as AWS endpoints do, before a WSGI app
(the FleetServer's fault layer and moto).

Werkzeug's server, and so moto's, answers every request with `Connection: close`, so a
client behind it never holds a socket between calls and the tests never see sockets pile
up. Behind this front a client keeps every connection it opened until it closes it (or the
client is collected), which is what exhausts Lambda's 1,024 file descriptors. The front
counts the connections open at once, so a test can state the most a run held.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

WsgiApp = Callable[..., Iterable[bytes]]
IDLE_SECONDS = 300  # an idle connection is kept this long (AWS keeps them for minutes)
HOP_BY_HOP = {"content-length", "connection", "transfer-encoding", "keep-alive"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, app: WsgiApp) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.lock = threading.Lock()
        self.open_connections = 0
        self.most_connections = 0
        self.connections = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client asks to close
    timeout = IDLE_SECONDS
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open_connections += 1
            self.server.most_connections = max(
                self.server.most_connections, self.server.open_connections
            )

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.open_connections -= 1

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            if key.lower() not in ("content-type", "content-length"):
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        return environ

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            answer["status"], answer["headers"] = status, headers

        chunks = self.server.app(self._environ(body), start_response)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        code, _, reason = answer["status"].partition(" ")
        self.send_response(int(code), reason)
        for key, value in answer["headers"]:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class KeepAliveFront:
    """Serves `app` on loopback over HTTP/1.1 keep-alive, in a thread of this process."""

    def __init__(self, app: WsgiApp) -> None:
        self._server = _Server(app)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def open_connections(self) -> int:
        return self._server.open_connections

    @property
    def most_connections(self) -> int:
        """The most connections open at once since the front started."""
        return self._server.most_connections

    @property
    def connections(self) -> int:
        """Every connection opened since the front started."""
        return self._server.connections

    def start(self) -> KeepAliveFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

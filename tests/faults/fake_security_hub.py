"""A tiny Security Hub that honours GetFindings' Filters (moto 5.2.5 ignores them).

REST JSON over HTTP, two operations: BatchImportFindings (POST /findings/import: a finding
with the same Id replaces the one held, and gets the `Region` and `ProcessedAt` fields
Security Hub adds) and GetFindings (POST /findings: StringFilters with EQUALS or PREFIX on
the fields the audit filters by; values of one field are ORed, fields ANDed; MaxResults 1 to
100 and NextToken). The region is the one the request is signed for. Any other filter,
comparison or page size is a 400, so a client asking for something else fails loudly.
Request shapes are checked against botocore's model by botocore itself (it serializes
them); `denied` makes GetFindings answer AccessDeniedException."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FILTERED = {"ProductArn", "GeneratorId", "AwsAccountId", "Region", "RecordState"}
COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    "EQUALS": str.__eq__,
    "PREFIX": str.startswith,
}
SIGNED_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/securityhub/")


class FakeSecurityHub:
    def __init__(self) -> None:
        self.findings: dict[str, dict[str, Any]] = {}
        self.get_findings_calls: list[dict[str, Any]] = []
        self.denied = False
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                found = SIGNED_REGION.search(self.headers.get("Authorization", ""))
                region = found.group(1) if found else "?"
                status, answer = hub.handle(self.path, body, region)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status != 200:
                    self.send_header("x-amzn-ErrorType", answer["__type"])
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeSecurityHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path: str, body: dict[str, Any], region: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if path == "/findings/import":
                return 200, self._import(body["Findings"], region)
            if path == "/findings":
                return self._get(body)
        return 404, {"__type": "ResourceNotFoundException", "message": path}

    def _import(self, findings: list[dict[str, Any]], region: str) -> dict[str, Any]:
        for finding in findings:
            held = finding | {"Region": region, "ProcessedAt": "2026-12-06T07:00:01.000Z"}
            self.findings[finding["Id"]] = held
        return {"FailedCount": 0, "SuccessCount": len(findings), "FailedFindings": []}

    def _get(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.get_findings_calls.append(body)
        if self.denied:
            return 403, {"__type": "AccessDeniedException", "message": "not authorized"}
        filters, size = body.get("Filters", {}), body.get("MaxResults", 100)
        if set(filters) - FILTERED or not 1 <= size <= 100:
            return 400, {"__type": "InvalidInputException", "message": "unsupported request"}
        for wanted in filters.values():
            if any(item["Comparison"] not in COMPARISONS for item in wanted):
                return 400, {"__type": "InvalidInputException", "message": "comparison"}
        matching = [
            finding
            for finding in self.findings.values()
            if all(
                any(
                    COMPARISONS[item["Comparison"]](str(finding.get(key, "")), item["Value"])
                    for item in wanted
                )
                for key, wanted in filters.items()
            )
        ]
        start = int(body.get("NextToken") or 0)
        page: dict[str, Any] = {"Findings": matching[start : start + size]}
        if start + size < len(matching):
            page["NextToken"] = str(start + size)
        return 200, page

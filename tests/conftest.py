"""Shared fixtures: fake credentials, an in-process moto, a moto server, a seeded fleet."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws

from hsm_backup_audit_demo import Fleet
from hsm_backup_audit_demo.server import FleetServer

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)

# aws-cdk-lib's jsii runtime runs on the Node.js 22 that `npm ci` pins (as under `make`),
# not on whatever `node` the PATH has, when pytest is started by hand.
PINNED_NODE = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "node"
if PINNED_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(PINNED_NODE))


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach a real account: fake credentials, a fixed region, no endpoint override."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fleet(aws: None) -> Fleet:
    return Fleet()


@pytest.fixture(scope="session")
def fleet_server() -> Iterator[FleetServer]:
    """One moto server for the session, in this process (fixtures seed its backend), with
    a fault and latency layer in front that records every call."""
    server = FleetServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server(fleet_server: FleetServer) -> str:
    return fleet_server.url


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request).close()  # noqa: S310 - loopback moto server


@pytest.fixture
def server_fleet(fleet_server: FleetServer) -> Iterator[tuple[str, Fleet]]:
    """A clean moto server backend, no faults, no recorded calls, and a fleet handle on it."""
    _reset(fleet_server.url)
    fleet_server.layer.clear()
    yield fleet_server.url, Fleet()
    fleet_server.layer.clear()
    _reset(fleet_server.url)

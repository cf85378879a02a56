"""Synthesized templates, built once per session: synth is the slow part.

`default` is cdk.json's context plus two email addresses (the report bucket is on by
default); `full` turns every option on (every region, 1,000 member accounts in an
organization, an external id, reserved concurrency, another schedule, another weekly
digest day); `without_bucket` turns the report bucket off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import create_app
from infra.constants import AUDIT_STACK_NAME, MEMBER_ROLE_STACK_NAME, ROOT

EMAILS = ("ops@example.com", "security@example.com")
MEMBER_ACCOUNTS = tuple(str(100_000_000_000 + n) for n in range(1_000))
ORGANIZATION_ID = "o-a1b2c3d4e5"
AUDIT_ACCOUNT = "999999999999"
EXTERNAL_ID = "hsm-audit-7f3a"
FULL_CONTEXT: dict[str, Any] = {
    "reportBucket": "true",
    "reportExpirationDays": "400",
    "regions": "all",
    "memberAccounts": ",".join(MEMBER_ACCOUNTS),
    "organizationId": ORGANIZATION_ID,
    "reservedConcurrency": "true",
    "securityHub": "true",
    "memberExternalId": EXTERNAL_ID,
    "auditAccountId": AUDIT_ACCOUNT,
    "schedule": "cron(30 6 ? * MON-FRI *)",
    "scheduleTimezone": "Europe/Paris",
    "notify": "findings",
    "weeklyDigestDay": "Friday",
    "maxWorkers": "8",
    "logRetentionDays": "365",
}


def cdk_json_context() -> dict[str, Any]:
    """The context the CLI would pass: cdk.json's (a key given twice fails every infra test:
    the JSON reader keeps the last, so the first would be silently ignored)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"cdk.json repeats a key: {sorted(keys)}"
        return dict(pairs)

    document = json.loads((ROOT / "cdk.json").read_text(), object_pairs_hook=no_duplicates)
    context: dict[str, Any] = document["context"]
    return context


@dataclass(frozen=True)
class Synth:
    app: App
    directory: Path
    audit: Template
    member: Template

    def template_json(self, stack_name: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            (self.directory / f"{stack_name}.template.json").read_text()
        )
        return document


def synthesize(outdir: Path, **overrides: Any) -> Synth:
    app = create_app({**cdk_json_context(), **overrides}, outdir=str(outdir))
    assembly = app.synth()
    audit = Template.from_stack(app.node.find_child(AUDIT_STACK_NAME))  # type: ignore[arg-type]
    member = Template.from_stack(app.node.find_child(MEMBER_ROLE_STACK_NAME))  # type: ignore[arg-type]
    return Synth(app=app, directory=Path(assembly.directory), audit=audit, member=member)


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("default"), notificationEmails=",".join(EMAILS))


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("full"), **FULL_CONTEXT)


@pytest.fixture(scope="session")
def without_bucket(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        tmp_path_factory.mktemp("without_bucket"),
        notificationEmails=",".join(EMAILS),
        reportBucket="false",
    )


HUB_REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Security Hub on, two regions, two member accounts."""
    return synthesize(
        tmp_path_factory.mktemp("hub"),
        securityHub="true",
        regions=",".join(HUB_REGIONS),
        memberAccounts=",".join(MEMBER_ACCOUNTS[:2]),
        auditAccountId=AUDIT_ACCOUNT,
    )


@pytest.fixture(scope="session")
def hub_here(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Security Hub on, no regions set: the stack's own region."""
    return synthesize(tmp_path_factory.mktemp("hub-here"), securityHub="true")

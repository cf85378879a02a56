"""Context and policy checks: a mistake stops the synth with one line naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from hsm_backup_audit.engine.policy import Policy, PolicyError, load_policy_file
from infra.app import create_app
from infra.constants import CONTEXT_DEFAULTS, ROOT
from infra.settings import SettingsError, read_settings

from .conftest import cdk_json_context

BAD_POLICY = {"allowed_modes": ["FIPS", "FAST"]}


@pytest.fixture
def bad_policy(tmp_path: Path) -> Path:
    path = tmp_path / "bad-policy.json"
    path.write_text(json.dumps(BAD_POLICY))
    return path


def test_cdk_json_holds_exactly_the_documented_defaults() -> None:
    assert cdk_json_context() == CONTEXT_DEFAULTS


def test_root_policy_is_the_documented_default() -> None:
    assert load_policy_file(ROOT / "policy.json") == Policy()


def test_invalid_policy_fails_with_the_command_line_message(
    bad_policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a policy path relative to the repository root, where cdk runs the app
    monkeypatch.chdir(ROOT)
    given = os.path.relpath(bad_policy, ROOT)
    with pytest.raises(PolicyError) as expected:
        load_policy_file(given)  # what `hsm-backup-audit scan --policy <given>` reports
    # When the app is built / Then the same message, naming the file as it was given
    with pytest.raises(PolicyError) as raised:
        create_app({**cdk_json_context(), "policyFile": given})
    assert str(raised.value) == str(expected.value)
    assert str(raised.value).startswith(f"{given}: allowed_modes.1")


def test_synth_of_an_invalid_policy_prints_one_line_and_exits_2(
    bad_policy: Path, tmp_path: Path
) -> None:
    # Given the context the CDK CLI passes to the app, with a bad policy
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**cdk_json_context(), "policyFile": str(bad_policy)}),
        "CDK_OUTDIR": str(tmp_path / "out"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    # When the app runs
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    # Then one line, the command line's, and exit code 2: no traceback, nothing synthesized
    lines = result.stderr.splitlines()
    with pytest.raises(PolicyError) as expected:
        load_policy_file(bad_policy)
    assert lines == [f"hsm-backup-audit: error: {expected.value}"]
    assert result.returncode == 2
    assert not list((tmp_path / "out").glob("*.template.json"))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "notificationEmails",
            "ops@example.com,not-an-address",
            "'not-an-address' is not an email",
        ),
        ("regions", "eu-west-1,all", "'all' cannot be combined"),
        ("regions", "Europe", "'Europe' is not a region name"),
        ("regions", "eu west 1", "'eu west 1' is not a region name (did you mean eu-west-1?)"),
        ("regions", "us-east-7", "'us-east-7' is not a known AWS region (did you mean us-east-"),
        ("scheduleTimezone", "Mars/Olympus", "'Mars/Olympus' is not an IANA time zone"),
        ("schedule", "every day", "expected cron(...), rate(...) or at(...)"),
        ("reportBucket", "yes", "expected true or false"),
        ("reportExpirationDays", "30", "expected 91 to 36500"),
        ("reportObjectLockDays", "0", "expected 1 to 730"),  # no longer than reports are kept
        ("reportObjectLockDays", "731", "expected 1 to 730"),
        ("reportObjectLockDays", "a year", "expected a whole number"),
        ("logRetentionDays", "100", "expected one of 1, 3, 5"),
        ("memberAccounts", "111111111111,1234", "'1234' is not a 12-digit AWS account id"),
        ("memberRoleName", "a role", "'a role' is not an IAM role name"),
        ("organizationId", "org-1", "expected an organization id"),
        ("reservedConcurrency", "1", "expected true or false"),
        ("missedRunAlarmHours", "200", "expected 1 to 168"),
        ("schedule", "cron(0 25 * * ? *)", "'25' is not in 0-23"),
        ("memberExternalId", "x", "expected 2 to 1224 characters"),
        ("auditAccountId", "12345", "a 12-digit AWS account id"),
        ("notify", "sometimes", "expected always, findings, changes"),
        ("weeklyDigestDay", "someday", "expected a day of the week"),
        ("maxWorkers", "0", "expected 1 to 256"),
        ("securityHub", "maybe", "expected true or false"),
    ],
)
def test_bad_context_value(key: str, value: Any, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), key: value})
    assert str(raised.value).startswith(f"{key}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_regions_are_case_normalised() -> None:
    app = App(context={**cdk_json_context(), "regions": "EU-West-1, us-east-1"})
    assert read_settings(app.node).regions == ("eu-west-1", "us-east-1")


def test_external_id_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), "memberExternalId": "secret value!"})
    assert "secret" not in str(raised.value)


def test_member_role_arns_were_replaced_and_say_by_what() -> None:
    # A cdk.json from before keeps its member list: refused, never silently dropped
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), "memberRoleArns": "arn:aws:iam::1:role/x"})
    assert str(raised.value) == (
        "memberRoleArns was replaced by memberAccounts (account ids) and memberRoleName: "
        "see docs/deploy.md"
    )


def test_member_accounts_and_an_organization_are_alternatives() -> None:
    context = {**cdk_json_context(), "memberAccounts": "111111111111", "organization": "true"}
    with pytest.raises(SettingsError) as raised:
        create_app(context)
    assert str(raised.value).startswith("memberAccounts and organization=true are two ways")
    assert "\n" not in str(raised.value)


def test_notify_changes_needs_the_report_bucket() -> None:
    # The run history lives in the report bucket: without it every run would be a first run
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), "notify": "changes", "reportBucket": "false"})
    assert str(raised.value) == "notify: changes needs reportBucket=true (the run history)"

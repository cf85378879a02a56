"""Organization mode in the function: its environment (ORGANIZATION, MEMBER_ROLE_NAME,
ORGANIZATIONAL_UNITS), and one scheduled run over an organization in moto."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest

from hsm_backup_audit.configuration import ConfigurationError, load_configuration
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import DEFAULT_ACCOUNT, PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import SCHEDULED_EVENT, LocalContext
from hsm_backup_audit_demo.organization import Organization

TOPIC = "arn:aws:sns:us-east-1:123456789012:hsm-backup-audit"
BASE = {"TOPIC_ARN": TOPIC, "AWS_REGION": "us-east-1"}
UNIT = "ou-ab12-cdefgh34"


def test_organization_is_off_by_default() -> None:
    config = load_configuration(BASE)
    assert config.organization is False
    assert config.organizational_units == ()


def test_organization_settings_are_read() -> None:
    # Given organization mode with a role name and two units (spaces and a blank around)
    env = BASE | {
        "ORGANIZATION": "true",
        "MEMBER_ROLE_NAME": "audit-reader",
        "ORGANIZATIONAL_UNITS": f" {UNIT}, ou-ab12-zzzzzzz9 ,",
    }
    # When loaded, then each is taken as given
    config = load_configuration(env)
    assert config.organization is True
    assert config.member_role_name == "audit-reader"
    assert config.organizational_units == (UNIT, "ou-ab12-zzzzzzz9")


def test_the_member_role_name_defaults_to_the_member_role_stacks() -> None:
    config = load_configuration(BASE | {"ORGANIZATION": "true", "MEMBER_ROLE_NAME": ""})
    assert config.member_role_name == "hsm-backup-audit-member"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ORGANIZATION": "maybe"}, "ORGANIZATION: "),
        (
            {"ORGANIZATION": "true", "MEMBER_ROLE_NAME": "bad name"},
            "MEMBER_ROLE_NAME: expected an IAM role name",
        ),
        (
            {"ORGANIZATION": "true", "ORGANIZATIONAL_UNITS": f"{UNIT},r-ab12"},
            "ORGANIZATIONAL_UNITS: expected comma-separated organizational unit ids",
        ),
        ({"ORGANIZATIONAL_UNITS": UNIT}, "MEMBER_ROLE_NAME and ORGANIZATIONAL_UNITS need"),
        (
            {"ORGANIZATION": "false", "MEMBER_ROLE_NAME": "x"},
            "MEMBER_ROLE_NAME and ORGANIZATIONAL_UNITS need ORGANIZATION=true",
        ),
    ],
)
def test_a_bad_organization_setting_is_one_line_naming_it(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(BASE | env)
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


def test_a_scheduled_run_audits_every_member_of_the_organization(
    lambda_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    wall_now: datetime,
    capsys: Any,
) -> None:
    # Given an organization of 4 members, one closed, one holding a NeverExpires backup,
    # and the function configured for organization mode
    org = Organization.create()
    members = org.add_accounts(4)
    org.close(members[0])
    for account_id in [DEFAULT_ACCOUNT, *members]:
        fleet = Fleet(account_id)
        cluster = fleet.add_cluster(PRIMARY, retention_days=379)
        ids = fleet.add_daily_backups(PRIMARY, cluster, days=2, now=wall_now)
        fleet.backend(PRIMARY).backups[ids[0]].never_expires = account_id == members[2]
    monkeypatch.setenv("ORGANIZATION", "true")
    # When the schedule invokes the handler
    summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
    capsys.readouterr()
    # Then the stored report covers the caller and the 3 active members, and names the
    # one finding in its member account
    s3 = boto3.client("s3", region_name=PRIMARY)
    bucket, key = summary["report"].removeprefix("s3://").split("/", 1)
    report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert report["scope"]["accounts"] == [DEFAULT_ACCOUNT, *sorted(members[1:])]
    assert [(f["account_id"], f["rule"]) for f in report["findings"]] == [
        (members[2], "never-expires")
    ]
    assert summary["status"] == "NON_COMPLIANT"
    assert summary["backups_scanned"] == 2 * 4
    assert summary["scan_errors"] == 0

"""The function's environment, validated once per cold start, with errors that name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsm_backup_audit.configuration import ConfigurationError, load_configuration

TOPIC = "arn:aws:sns:us-east-1:123456789012:hsm-backup-audit"


def test_defaults_scan_the_functions_own_region_with_the_default_policy() -> None:
    # Given only the topic, in a function running in eu-west-1
    env = {"TOPIC_ARN": TOPIC, "AWS_REGION": "eu-west-1"}
    # When the configuration is loaded
    config = load_configuration(env)
    # Then it audits its own region, with the documented defaults, and always notifies
    assert config.regions == ("eu-west-1",)
    assert config.policy_source == "defaults"
    assert config.policy.allowed_modes == ("FIPS",)
    assert config.notify == "always"
    assert config.report_bucket is None
    assert config.member_role_arns == ()


def test_regions_lists_and_all_are_expanded_without_duplicates() -> None:
    # Given a comma-separated list with spaces and a repeat, and then `all`
    listed = {"TOPIC_ARN": TOPIC, "REGIONS": " us-east-1, eu-west-1 ,us-east-1"}
    every = {"TOPIC_ARN": TOPIC, "REGIONS": "all"}
    # When loaded
    # Then the list keeps its order once each, and `all` is kept: each run asks each
    # account which regions it has enabled (as the command line's --region all does)
    assert load_configuration(listed).regions == ("us-east-1", "eu-west-1")
    assert load_configuration(every).regions == ("all",)


def test_a_relative_policy_file_is_read_from_the_deployment_package(tmp_path: Path) -> None:
    # Given policy.json in the task root, as the CDK stack ships it (well over 4 KB)
    exemptions = [
        {
            "backup_id": f"backup-{n:011d}",
            "rules": ["mode"],
            "reason": "x" * 60,
            "expires": "2099-01-01",
        }
        for n in range(60)
    ]
    text = json.dumps({"allowed_modes": ["FIPS", "NON_FIPS"], "exemptions": exemptions})
    assert len(text) > 4096
    (tmp_path / "policy.json").write_text(text)
    env = {"TOPIC_ARN": TOPIC, "AWS_REGION": "us-east-1", "POLICY_FILE": "policy.json"}
    # When loaded with LAMBDA_TASK_ROOT pointing at the package
    config = load_configuration({**env, "LAMBDA_TASK_ROOT": str(tmp_path)})
    # Then the file's policy applies and the digest can name its source
    assert config.policy.allowed_modes == ("FIPS", "NON_FIPS")
    assert len(config.policy.exemptions) == 60
    assert config.policy_source == "policy.json"


def test_every_optional_setting_is_read() -> None:
    # Given every optional variable set
    env = {
        "TOPIC_ARN": TOPIC,
        "REGIONS": "us-east-1",
        "NOTIFY": "findings",
        "REPORT_BUCKET": "audit-reports-123",
        "MEMBER_ROLE_ARNS": (
            "arn:aws:iam::111111111111:role/audit,arn:aws:iam::222222222222:role/a/b"
        ),
        "EXTERNAL_ID": "s3cr3t-id",
        "MAX_WORKERS": "32",
    }
    # When loaded
    config = load_configuration(env)
    # Then each is taken as given
    assert config.notify_only_findings
    assert config.report_bucket == "audit-reports-123"
    assert config.member_role_arns == (
        "arn:aws:iam::111111111111:role/audit",
        "arn:aws:iam::222222222222:role/a/b",
    )
    assert config.external_id == "s3cr3t-id"
    assert config.max_workers == 32


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "TOPIC_ARN is required"),
        ({"TOPIC_ARN": "my-topic"}, "TOPIC_ARN: expected an SNS topic ARN"),
        ({"NOTIFY": "sometimes"}, "NOTIFY: "),
        ({"REGIONS": "us-east-1,Mars"}, "REGIONS: 'Mars' is not a region name"),
        (
            {"REGIONS": "eu-west-1,us-east-7"},
            "REGIONS: 'us-east-7' is not a known AWS region (did you mean us-east-",
        ),
        (
            {"TOPIC_ARN": "arn:aws:sns:us-east-7:123456789012:audit"},
            "TOPIC_ARN: the topic's region: 'us-east-7' is not a known AWS region",
        ),
        (
            {"TOPIC_ARN": "arn:aws:sns:useast1:123456789012:audit"},
            "TOPIC_ARN: the topic's region: 'useast1' is not a region name",
        ),
        ({"REPORT_BUCKET": "Not_A_Bucket"}, "REPORT_BUCKET: expected an S3 bucket name"),
        ({"MEMBER_ROLE_ARNS": "arn:aws:iam::1:user/x"}, "MEMBER_ROLE_ARNS: expected"),
        ({"MAX_WORKERS": "0"}, "MAX_WORKERS: "),
        ({"MAX_WORKERS": "many"}, "MAX_WORKERS: "),
        (
            {"POLICY_FILE": "/nonexistent/policy.json"},
            "POLICY_FILE: /nonexistent/policy.json: cannot read",
        ),
    ],
)
def test_a_bad_setting_is_refused_with_one_line_naming_it(
    env: dict[str, str], expected: str
) -> None:
    # Given one bad variable on top of a valid environment (or no topic at all)
    base = {"AWS_REGION": "us-east-1"} | ({"TOPIC_ARN": TOPIC} if env else {})
    # When loaded
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(base | env)
    # Then the message is one line that names the variable
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_an_invalid_policy_file_is_a_configuration_error(tmp_path: Path) -> None:
    # Given a policy with an unknown mode
    (tmp_path / "policy.json").write_text('{"allowed_modes": ["FAST"]}')
    env = {
        "TOPIC_ARN": TOPIC,
        "AWS_REGION": "us-east-1",
        "POLICY_FILE": str(tmp_path / "policy.json"),
    }
    # When loaded
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(env)
    # Then the error names the variable, the file and the key
    assert str(raised.value).startswith("POLICY_FILE: ")
    assert "allowed_modes" in str(raised.value)


def test_the_external_id_is_never_echoed() -> None:
    # Given a malformed external id (a secret shared with member accounts)
    env = {"TOPIC_ARN": TOPIC, "AWS_REGION": "us-east-1", "EXTERNAL_ID": "top secret!"}
    # When loaded
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(env)
    # Then the message names the variable but not its value
    assert str(raised.value).startswith("EXTERNAL_ID: ")
    assert "top secret" not in str(raised.value)


def test_no_region_at_all_is_refused() -> None:
    # Given neither REGIONS nor AWS_REGION
    # When loaded
    with pytest.raises(ConfigurationError) as raised:
        load_configuration({"TOPIC_ARN": TOPIC})
    # Then it says which variables to set
    assert "REGIONS" in str(raised.value)
    assert "AWS_REGION" in str(raised.value)


def test_member_accounts_ship_as_a_file_with_one_role_name(tmp_path: Path) -> None:
    # Given the asset's member-accounts.json (as the stack ships it) and the role name,
    # in the GovCloud partition (taken from the topic's ARN)
    (tmp_path / "member-accounts.json").write_text('["111111111111", "222222222222"]\n')
    env = {
        "TOPIC_ARN": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:audit",
        "REGIONS": "us-gov-west-1",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "MEMBER_ACCOUNTS_FILE": "member-accounts.json",
        "MEMBER_ROLE_NAME": "hsm-backup-audit-member",
        "MEMBER_ROLE_ARNS": "arn:aws-us-gov:iam::333333333333:role/other",
    }
    # When loaded
    config = load_configuration(env)
    # Then the role name is assumed in each listed account, after the ARNs given directly
    assert config.member_role_arns == (
        "arn:aws-us-gov:iam::333333333333:role/other",
        "arn:aws-us-gov:iam::111111111111:role/hsm-backup-audit-member",
        "arn:aws-us-gov:iam::222222222222:role/hsm-backup-audit-member",
    )


@pytest.mark.parametrize(
    ("content", "role_name", "expected"),
    [
        ('["1234"]', "audit", "is not a JSON list of 12-digit account ids"),
        ("{not json", "audit", "MEMBER_ACCOUNTS_FILE: cannot read"),
        ('["111111111111"]', "", "MEMBER_ROLE_NAME is required with MEMBER_ACCOUNTS_FILE"),
        ('["111111111111"]', "a role", "MEMBER_ROLE_NAME: expected an IAM role name"),
    ],
)
def test_a_bad_member_list_is_one_line(
    tmp_path: Path, content: str, role_name: str, expected: str
) -> None:
    (tmp_path / "members.json").write_text(content)
    env = {
        "TOPIC_ARN": TOPIC,
        "REGIONS": "us-east-1",
        "MEMBER_ACCOUNTS_FILE": str(tmp_path / "members.json"),
        "MEMBER_ROLE_NAME": role_name,
    }
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(env)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)

"""The command line's arguments and AWS environment: every mistake is exit 2 and one line,
checked before any call; the AWS variables a user sets are the ones honoured."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

ROLE = "arn:aws:iam::111111111111:role/hsm-backup-audit-member"


def usage_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one line a usage error prints; asserts exit 2, nothing on stdout, no traceback."""
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert out == ""
    assert len(err.splitlines()) == 1, err
    return err.strip()


def healthy(fleet: Fleet, region: str) -> None:
    cluster = fleet.add_cluster(region, retention_days=379)
    fleet.add_daily_backups(region, cluster, days=3, now=datetime.now().astimezone())


@pytest.mark.parametrize(
    ("region", "said"),
    [
        ("eu west 1", "'eu west 1' is not a region name (did you mean eu-west-1?)"),
        (
            "us-east-1;rm -rf /",
            "'us-east-1;rm -rf /' is not a region name (did you mean us-east-1?)",
        ),
        ("us-east-7", "'us-east-7' is not a known AWS region (did you mean us-east-"),
        ("eu-west-1,Europe", "'Europe' is not a region name"),
    ],
)
def test_a_region_that_is_not_a_region_is_refused_before_any_call(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    region: str,
    said: str,
) -> None:
    url, _ = server_fleet
    line = usage_error(capsys, "scan", "--endpoint-url", url, "--region", region)
    assert line.startswith(f"hsm-backup-audit: error: --region: {said}")
    assert fleet_server.layer.calls == []


def test_region_names_are_case_normalised(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str]
) -> None:
    url, fleet = server_fleet
    healthy(fleet, SECONDARY)
    code = main(["scan", "--format", "json", "--endpoint-url", url, "--region", "EU-West-1"])
    document = json.loads(capsys.readouterr().out)
    assert code == ExitCode.COMPLIANT
    assert document["scope"]["regions"] == [SECONDARY]
    assert document["summary"]["backups_scanned"] == 3


@pytest.mark.parametrize("how", ["environment", "option"])
def test_a_missing_profile_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    args = ["scan", "--region", PRIMARY]
    if how == "environment":
        monkeypatch.setenv("AWS_PROFILE", "nope")
    else:
        args += ["--profile", "nope"]
    line = usage_error(capsys, *args)
    assert line == (
        "hsm-backup-audit: error: the AWS profile 'nope' was not found "
        "(check --profile, AWS_PROFILE and the AWS config files)"
    )


def test_a_profile_is_used_for_credentials_and_region(
    server_fleet: tuple[str, Fleet],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a profile naming SECONDARY, and no region in the environment
    url, fleet = server_fleet
    healthy(fleet, SECONDARY)
    config = tmp_path / "config"  # type: ignore[operator]
    config.write_text(
        "[profile audit]\nregion = eu-west-1\naws_access_key_id = AKIDPROFILE\n"
        "aws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    # When the CLI runs with --profile
    code = main(["scan", "--format", "json", "--endpoint-url", url, "--profile", "audit"])
    document = json.loads(capsys.readouterr().out)
    # Then the profile's region is audited
    assert code == ExitCode.COMPLIANT
    assert document["scope"]["regions"] == [SECONDARY]


def test_aws_region_works_as_well_as_aws_default_region(
    server_fleet: tuple[str, Fleet],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given only AWS_REGION (as the error message recommends), naming SECONDARY
    url, fleet = server_fleet
    healthy(fleet, SECONDARY)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", SECONDARY)
    # When the CLI runs without --region
    code = main(["scan", "--format", "json", "--endpoint-url", url])
    document = json.loads(capsys.readouterr().out)
    # Then SECONDARY is audited
    assert code == ExitCode.COMPLIANT
    assert document["scope"]["regions"] == [SECONDARY]
    assert document["summary"]["backups_scanned"] == 3


def test_a_region_in_the_environment_that_is_not_a_region_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-7")
    line = usage_error(capsys, "scan", "--region", PRIMARY)
    assert line == (
        "hsm-backup-audit: error: the AWS region (AWS_REGION, AWS_DEFAULT_REGION, profile): "
        "'us-east-7' is not a known AWS region (did you mean us-east-1 or us-east-2?)"
    )


def test_region_all_without_a_home_region_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    line = usage_error(capsys, "scan", "--region", "all")
    assert "--region all needs a home region" in line


def test_an_endpoint_url_works_without_a_region_in_the_environment(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given no region anywhere but --region
    url, fleet = server_fleet
    healthy(fleet, SECONDARY)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    # When the CLI runs against an endpoint
    code = main(["scan", "--format", "json", "--endpoint-url", url, "--region", SECONDARY])
    document = json.loads(capsys.readouterr().out)
    # Then STS was asked in the audited region, and the audit is complete
    assert code == ExitCode.COMPLIANT, document["errors"]
    assert {c.region for c in fleet_server.layer.calls_to("GetCallerIdentity")} == {SECONDARY}


def test_external_id_without_role_arn_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = usage_error(capsys, "scan", "--region", PRIMARY, "--external-id", "abcd1234")
    assert line.endswith(
        "error: argument --external-id: only used with --role-arn or --organization"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--max-workers", "abc"], "argument --max-workers: expected a whole number from 1 to 256"),
        (["--max-workers", "0"], "argument --max-workers: expected a whole number from 1 to 256"),
        (["--max-seconds", "soon"], "argument --max-seconds: expected a number of seconds"),
        (["--max-seconds", "nan"], "argument --max-seconds: expected a number of seconds"),
        (["--max-seconds", "-1"], "argument --max-seconds: expected a number of seconds"),
        (["--role-arn", "nope"], "argument --role-arn: not an IAM role ARN"),
        (["--endpoint-url", "localhost:5000"], "argument --endpoint-url: expected an http://"),
    ],
)
def test_a_bad_option_value_names_the_option_never_a_function(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    line = usage_error(capsys, "scan", *args)
    assert said in line
    assert "invalid" not in line  # argparse's "invalid _workers value" wording


def test_help_says_what_each_option_takes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    text = capsys.readouterr().out
    for shown in (
        "--region REGION",
        "--policy FILE",
        "--profile NAME",
        "--endpoint-url URL",
        "--role-arn ARN",
        "--external-id ID",
        "--max-workers N",
        "--max-seconds SECONDS",
    ):
        assert shown in text
    assert "(default 900)" in " ".join(text.split())


def test_credentials_in_an_endpoint_url_are_never_echoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A URL that cannot be parsed (its error would quote it), and one nothing answers
    line = usage_error(
        capsys, "scan", "--endpoint-url", "http://audit:s3cr3t@[bad", "--region", PRIMARY
    )
    assert "s3cr3t" not in line
    code = main(
        [
            "scan",
            "--format",
            "json",
            "--region",
            PRIMARY,
            "--max-seconds",
            "20",
            "--endpoint-url",
            "http://audit:s3cr3t@127.0.0.1:9",
        ]
    )
    out, err = capsys.readouterr()
    assert code == ExitCode.INCOMPLETE
    assert "s3cr3t" not in out + err


def test_an_account_id_from_sts_that_is_not_12_digits_is_never_used(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given GetCallerIdentity answering an account id with a trailing newline and text
    url, fleet = server_fleet
    healthy(fleet, PRIMARY)

    def forged(body: bytes) -> bytes:
        return body.replace(b"<Account>123456789012", b"<Account>123456789012\nFORGED")

    fleet_server.layer.faults = [Fault("rewrite", operation="GetCallerIdentity", rewrite=forged)]
    # When the CLI runs
    code = main(["scan", "--format", "json", "--endpoint-url", url, "--region", PRIMARY])
    document = json.loads(capsys.readouterr().out)
    # Then exit 3, one entry naming the answer, and nothing was listed under that id
    assert code == ExitCode.INCOMPLETE
    assert [(e["operation"], e["code"]) for e in document["errors"]] == [
        ("GetCallerIdentity", "MalformedResponse")
    ]
    assert document["scope"]["accounts"] == []
    assert fleet_server.layer.calls_to("DescribeBackups") == []

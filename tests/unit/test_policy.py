"""The policy: documented defaults, and every kind of mistake refused with one clear line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode, Rule
from hsm_backup_audit.engine.policy import Policy, PolicyError, load_policy, load_policy_file


def test_no_policy_file_means_the_documented_defaults() -> None:
    # Given no policy file / When it is loaded
    policy = load_policy_file(None)
    # Then the defaults are those the README documents
    assert policy.allowed_modes == ("FIPS",)
    assert policy.allowed_hsm_types == ("hsm2m.medium",)
    assert policy.allow_never_expires is False
    assert policy.include_shared is True
    assert (policy.min_retention_days, policy.max_retention_days) == (30, 379)
    assert policy.overdue_grace_days == 2
    assert policy.max_copy_age_days == 90
    assert policy.max_backup_gap_hours == 36
    assert policy.exemptions == ()


def test_root_policy_json_loads_and_matches_the_defaults() -> None:
    # The stack ships this file (cdk.json's policyFile): without it CI must fail, not skip.
    root = Path(__file__).resolve().parents[2] / "policy.json"
    assert root.is_file(), f"{root} is missing: the stack and the README's commands need it"
    assert load_policy_file(root) == Policy()


def test_a_full_policy_with_an_exemption_loads() -> None:
    policy = load_policy(
        json.dumps(
            {
                "allowed_modes": ["FIPS", "NON_FIPS"],
                "allowed_hsm_types": ["hsm1.medium", "hsm2m.medium"],
                "exemptions": [
                    {
                        "backup_id": "backup-abcdefghijk",
                        "rules": ["never-expires"],
                        "reason": "legal hold LH-12",
                        "expires": "2027-01-31",
                    }
                ],
            }
        )
    )
    assert policy.exemptions[0].rules == (Rule.NEVER_EXPIRES,)
    assert policy.exemptions[0].expires == date(2027, 1, 31)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"allowed_mode": ["FIPS"]}, "allowed_mode: unknown key"),
        ({"include_shared": "yes please"}, "include_shared: Input should be a valid boolean"),
        ({"allowed_modes": ["FIPS", "FAST"]}, "allowed_modes.1: Input should be 'FIPS' or"),
        ({"allowed_modes": []}, "allowed_modes: "),
        ({"min_retention_days": 3}, "min_retention_days: Input should be greater than or equal"),
        ({"min_retention_days": 200, "max_retention_days": 100}, "greater than max_retention"),
        (
            {
                "exemptions": [
                    {"backup_id": "b", "rules": ["nope"], "reason": "r", "expires": "2027-01-01"}
                ]
            },
            "exemptions.0.rules.0: Input should be",
        ),
        (
            {
                "exemptions": [
                    {"backup_id": "b", "rules": ["mode"], "reason": "r", "expires": "2027-13-01"}
                ]
            },
            "exemptions.0.expires: Input should be a valid date",
        ),
        (
            {"exemptions": [{"rules": ["mode"], "reason": "r", "expires": "2027-01-01"}]},
            "exactly one of backup_id or cluster_id",
        ),
        (
            {"exemptions": [{"cluster_id": "c", "rules": ["mode"], "expires": "2027-01-01"}]},
            "exemptions.0.reason: Field required",
        ),
        ([1, 2], "Input should be a valid dictionary"),
    ],
)
def test_each_kind_of_policy_error_names_the_key(document: object, expected: str) -> None:
    # Given a policy with one mistake / When it is loaded / Then the one-line error names it
    with pytest.raises(PolicyError) as caught:
        load_policy(json.dumps(document), "p.json")
    message = str(caught.value)
    assert message.startswith("p.json: ")
    assert expected in message
    assert "\n" not in message


def test_invalid_json_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"not valid JSON: .*line 1"):
        load_policy("{", "p.json")
    with pytest.raises(PolicyError, match="cannot read the policy: No such file"):
        load_policy_file(tmp_path / "absent.json")


def test_cli_refuses_a_bad_policy_with_exit_2_before_any_aws_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a policy with an unknown key, and no AWS endpoint at all
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"allowed_modes": ["FIPS"], "colour": "blue"}))
    # When the scan starts
    code = main(
        [
            "scan",
            "--policy",
            str(bad),
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]
    )
    # Then it stops with exit 2 and one line on stderr, nothing on stdout
    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"hsm-backup-audit: error: {bad}: colour: unknown key"
    ]


def test_cli_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--format", "yaml"])
    assert exited.value.code == ExitCode.USAGE
    assert "invalid choice: 'yaml'" in capsys.readouterr().err

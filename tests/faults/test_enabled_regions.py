"""`--region all` (and the Lambda's REGIONS=all) audits the regions enabled for each
account, says which were skipped as not enabled, and fails closed when it cannot tell."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit.regions import cloudhsm_regions
from hsm_backup_audit_demo import PRIMARY, SECONDARY, Fleet
from hsm_backup_audit_demo.server import Fault, describe_regions_answer

from .conftest import ACCOUNT, SCHEMA, Estate, errors_of, finding_ids

MEMBER = "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
OPTED_IN = "ap-east-1"
NOT_OPTED_IN = "me-south-1"  # listed as AllRegions=true would list it: skipped all the same
ENABLED = sorted([PRIMARY, SECONDARY, OPTED_IN])


def regions_answer() -> bytes:
    statuses = {PRIMARY: "opt-in-not-required", SECONDARY: "opt-in-not-required"}
    return describe_regions_answer(statuses | {OPTED_IN: "opted-in", NOT_OPTED_IN: "not-opted-in"})


@pytest.fixture
def answered(estate: Estate) -> Estate:
    estate.layer.faults = [Fault("reply", operation="DescribeRegions", reply=regions_answer())]
    return estate


def run_all(capsys: pytest.CaptureFixture[str], estate: Estate, *args: str) -> tuple[int, Any]:
    code = main(
        ["scan", "--format", "json", "--endpoint-url", estate.url, "--region", "all", *args]
    )
    return code, json.loads(capsys.readouterr().out)


def test_all_audits_only_the_regions_enabled_for_the_account(
    answered: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the CLI audits `all`
    code, document = run_all(capsys, answered)
    # Then the enabled CloudHSM regions are audited, the others are named as skipped
    # and never called, and the run is not INCOMPLETE for them
    assert code == ExitCode.NON_COMPLIANT, document["errors"]
    assert document["scope"]["regions"] == ENABLED
    skipped = document["scope"]["regions_not_enabled"][ACCOUNT]
    assert skipped == [r for r in cloudhsm_regions() if r not in ENABLED]
    assert NOT_OPTED_IN in skipped
    SCHEMA.validate(document)  # the keys added within schema version 1 are documented
    called = {c.region for c in answered.layer.calls if c.operation.startswith("Describe")}
    assert called == {*ENABLED, PRIMARY}  # PRIMARY: the home region, asked DescribeRegions
    assert {answered.pinned, answered.non_fips} <= set(finding_ids(document))
    assert [c.region for c in answered.layer.calls_to("DescribeRegions")] == [PRIMARY]


def test_all_is_asked_of_each_account(answered: Estate, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a member account with backups in SECONDARY
    member = Fleet(MEMBER)
    cluster = member.add_cluster(SECONDARY, retention_days=379)
    member.add_daily_backups(SECONDARY, cluster, days=2, now=answered.now)
    # When the CLI audits `all` in both accounts
    code, document = run_all(capsys, answered, "--role-arn", ROLE)
    # Then each account was asked with its own credentials, and each is audited
    assert code == ExitCode.NON_COMPLIANT, document["errors"]
    assert len({c.access_key for c in answered.layer.calls_to("DescribeRegions")}) == 2
    assert document["summary"]["by_account"][MEMBER]["backups_scanned"] == 2
    assert set(document["scope"]["regions_not_enabled"]) == {ACCOUNT, MEMBER}


def test_when_the_enabled_regions_cannot_be_read_the_run_fails_closed(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given DescribeRegions denied
    estate.layer.faults = [Fault("deny", operation="DescribeRegions", code="UnauthorizedOperation")]
    # When the CLI audits `all`, and SECONDARY by name as well
    code, document = run_all(capsys, estate, "--region", SECONDARY)
    # Then exit 3 with an entry saying the list could not be read; the region named
    # is still audited, and no region was guessed
    assert code == ExitCode.INCOMPLETE
    assert errors_of(document) == {(ACCOUNT, PRIMARY, "DescribeRegions", "UnauthorizedOperation")}
    assert document["scope"]["regions"] == [SECONDARY]
    assert estate.non_fips in finding_ids(document)

"""The Security Hub sender against moto: batches, accounts, regions and refusals.

moto's GetFindings ignores filters, so findings are read back by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.securityhub.models import securityhub_backends

from hsm_backup_audit.aws.security_hub import AccountSessions, partition_of, send_documents
from hsm_backup_audit.constants import Rule, Severity
from hsm_backup_audit.engine.asff import run_documents
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit_demo import DEFAULT_ACCOUNT
from hsm_backup_audit_demo.server import Fault, FleetServer
from tests.asff_model import assert_valid_asff

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
MEMBER = "222222222222"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/hsm-backup-audit-member"
IMPORT_PATH = "/findings/import"  # BatchImportFindings (REST JSON: no X-Amz-Target)


def findings(
    count: int, account: str = DEFAULT_ACCOUNT, region: str = "us-east-1"
) -> list[Finding]:
    return [
        Finding(
            rule=Rule.NEVER_EXPIRES,
            severity=Severity.HIGH,
            account_id=account,
            region=region,
            cluster_id="cluster-jxhlf7644ne",
            backup_id=f"backup-{index:011d}",
            shared=False,
            message="NeverExpires is true: the backup escapes the cluster's retention policy.",
            remediation="aws cloudhsmv2 modify-backup-attributes --no-never-expires",
        )
        for index in range(count)
    ]


def documents(items: list[Finding]) -> list[dict[str, Any]]:
    docs = run_documents(items, [], first_seen={}, observed_at=NOW, partition_of=partition_of)
    for doc in docs:
        assert_valid_asff(doc)
    return docs


def stored(account: str, region: str, endpoint_url: str | None = None) -> dict[str, Any]:
    """Security Hub's findings in one account and region, by Id (read as that account)."""
    session = boto3.session.Session()
    if account != DEFAULT_ACCOUNT:
        sts = session.client("sts", endpoint_url=endpoint_url)
        creds = sts.assume_role(RoleArn=MEMBER_ROLE, RoleSessionName="test")["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    client = session.client("securityhub", region_name=region, endpoint_url=endpoint_url)
    found = client.get_findings(MaxResults=100)["Findings"]
    return {f["Id"]: f for f in found}


@pytest.fixture
def server(server_fleet: tuple[str, Any], fleet_server: FleetServer) -> Iterator[FleetServer]:
    yield fleet_server


def test_250_findings_go_in_3_calls_of_at_most_100(server: FleetServer) -> None:
    # Given 250 findings in one account and region, behind a server that counts calls
    docs = documents(findings(250))
    # When they are sent
    outcome = send_documents(
        docs, AccountSessions(boto3.session.Session(), endpoint_url=server.url), server.url
    )
    # Then three calls carried 100, 100 and 50, and all were accepted
    calls = server.layer.calls_to(IMPORT_PATH)
    assert [len(call.params["Findings"]) for call in calls] == [100, 100, 50]
    assert (outcome.imported, outcome.archived, outcome.calls, outcome.problems) == (
        250,
        0,
        3,
        (),
    )


def test_each_account_imports_its_own_findings_into_the_resources_region(aws: None) -> None:
    # Given findings of the caller's account in two regions and of a member account
    own_east, own_west = findings(2), findings(1, region="eu-west-1")
    member = findings(3, account=MEMBER, region="eu-west-1")
    docs = documents(own_east + own_west + member)
    sessions = AccountSessions(boto3.session.Session(), role_arns=[MEMBER_ROLE])
    # When they are sent
    outcome = send_documents(docs, sessions)
    # Then each landed in its own account's Security Hub, in its region, and nowhere else
    assert (outcome.imported, outcome.calls, outcome.problems) == (6, 3, ())
    assert set(stored(DEFAULT_ACCOUNT, "us-east-1")) == {
        f"hsm-backup-audit/{f.id}" for f in own_east
    }
    assert set(stored(DEFAULT_ACCOUNT, "eu-west-1")) == {
        f"hsm-backup-audit/{f.id}" for f in own_west
    }
    member_found = stored(MEMBER, "eu-west-1")
    assert set(member_found) == {f"hsm-backup-audit/{f.id}" for f in member}
    assert {f["AwsAccountId"] for f in member_found.values()} == {MEMBER}


def test_an_account_without_a_role_is_a_problem_and_the_others_go_ahead(aws: None) -> None:
    # Given findings of an account no member role is configured for
    docs = documents(findings(2) + findings(4, account="333333333333"))
    # When they are sent
    outcome = send_documents(docs, AccountSessions(boto3.session.Session()))
    # Then that account's are one problem, and the caller's own still went in
    assert outcome.imported == 2
    (problem,) = outcome.problems
    assert (problem.account_id, problem.region, problem.code, problem.findings) == (
        "333333333333",
        "us-east-1",
        "LookupError",
        4,
    )
    assert "no member role" in problem.message


def test_a_region_where_security_hub_is_not_enabled_is_one_problem(server: FleetServer) -> None:
    # Given Security Hub refusing every import in eu-west-1 (not subscribed there)
    server.layer.faults.append(
        Fault("deny", operation=IMPORT_PATH, region="eu-west-1", code="InvalidAccessException")
    )
    docs = documents(findings(150, region="eu-west-1") + findings(3))
    # When they are sent
    outcome = send_documents(
        docs, AccountSessions(boto3.session.Session(), endpoint_url=server.url), server.url
    )
    # Then eu-west-1 is one problem counting all 150 (its first refusal stops its calls),
    (problem,) = outcome.problems
    assert (problem.account_id, problem.region, problem.code, problem.findings) == (
        DEFAULT_ACCOUNT,
        "eu-west-1",
        "InvalidAccessException",
        150,
    )
    # and us-east-1 still went in
    assert outcome.imported == 3
    assert set(stored(DEFAULT_ACCOUNT, "us-east-1", server.url)) == {d["Id"] for d in docs[150:]}
    assert len([c for c in server.layer.calls_to(IMPORT_PATH) if c.region == "eu-west-1"]) == 1


def test_failed_findings_in_the_answer_are_problems_too(server: FleetServer) -> None:
    # Given Security Hub answering that two of five findings were refused
    docs = documents(findings(5))
    refused = [docs[1]["Id"], docs[3]["Id"]]

    def refuse_two(body: dict[str, Any]) -> dict[str, Any]:
        failed = [
            {"Id": i, "ErrorCode": "InvalidInput", "ErrorMessage": "Finding is too old"}
            for i in refused
        ]
        return {"FailedCount": 2, "SuccessCount": 3, "FailedFindings": failed}

    server.layer.faults.append(Fault("mutate", operation=IMPORT_PATH, mutate=refuse_two))
    # When they are sent
    outcome = send_documents(
        docs, AccountSessions(boto3.session.Session(), endpoint_url=server.url), server.url
    )
    # Then three count as imported and the two refused are one problem naming the first
    assert outcome.imported == 3
    (problem,) = outcome.problems
    assert (problem.code, problem.findings) == ("InvalidInput", 2)
    assert problem.message == f"{refused[0]}: Finding is too old"


def test_the_partition_comes_from_botocores_region_data() -> None:
    assert partition_of("eu-west-1") == "aws"
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
    assert partition_of("xx-nowhere-9") == "aws"


def test_no_call_starts_once_the_time_budget_has_run_out(aws: None) -> None:
    # Given 250 findings and a budget that runs out once the first call went in
    docs = documents(findings(250))

    def out_of_time() -> bool:
        return bool(securityhub_backends[DEFAULT_ACCOUNT]["us-east-1"].findings)

    # When they are sent
    outcome = send_documents(docs, AccountSessions(boto3.session.Session()), None, out_of_time)
    # Then one call went, and the 150 left are one problem that says why
    assert (outcome.imported, outcome.calls) == (100, 1)
    (problem,) = outcome.problems
    assert (problem.code, problem.findings) == ("DeadlineExceeded", 150)
    assert len(stored(DEFAULT_ACCOUNT, "us-east-1")) == 100


def test_in_organization_mode_a_member_imports_through_the_member_role_name(aws: None) -> None:
    # Given a member account found in the organization (no role ARN configured for it)
    docs = documents(findings(2, account=MEMBER, region="eu-west-1"))
    sessions = AccountSessions(boto3.session.Session(), member_role_name="hsm-backup-audit-member")
    # When they are sent
    outcome = send_documents(docs, sessions)
    # Then they went in through that account's member role, into its own Security Hub
    assert (outcome.imported, outcome.problems) == (2, ())
    assert set(stored(MEMBER, "eu-west-1")) == {d["Id"] for d in docs}

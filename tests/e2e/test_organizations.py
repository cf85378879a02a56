"""The organization's accounts from moto's Organizations (in process, and through the
fault layer where a call must be recorded or denied)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from hsm_backup_audit.aws.cloudhsm import ClientLimits
from hsm_backup_audit.aws.organizations import (
    AccountListingError,
    list_active_accounts,
    member_role_arn,
)
from hsm_backup_audit_demo import DEFAULT_ACCOUNT
from hsm_backup_audit_demo.organization import Organization
from hsm_backup_audit_demo.server import Fault, FleetServer

FAST = ClientLimits(connect_timeout=0.5, read_timeout=0.5, max_attempts=3)


@pytest.fixture
def org(aws: None) -> Organization:
    return Organization.create()


@pytest.fixture
def server_org(server_fleet: Any) -> Iterator[tuple[str, Organization]]:
    url, _ = server_fleet
    yield url, Organization.create(url)


def test_every_active_account_beyond_one_page(org: Organization) -> None:
    # Given 45 members (46 accounts with the management account), 3 of them closed
    members = org.add_accounts(45)
    for closed in members[:3]:
        org.close(closed)
    # When the active accounts are listed
    found = list_active_accounts(boto3.session.Session())
    # Then all the others, sorted, and no closed (SUSPENDED) account
    assert found == sorted([DEFAULT_ACCOUNT, *members[3:]])


def test_pages_of_twenty_followed_to_the_end(
    server_org: tuple[str, Organization], fleet_server: FleetServer
) -> None:
    # Given 44 members behind the recording layer
    url, org = server_org
    members = org.add_accounts(44)
    fleet_server.layer.clear()
    # When listed
    found = list_active_accounts(boto3.session.Session(), endpoint_url=url, limits=FAST)
    # Then three pages were read, each asking for 20, the last two with a NextToken
    calls = fleet_server.layer.calls_to("ListAccounts")
    assert [call.params.get("MaxResults") for call in calls] == [20, 20, 20]
    assert [bool(call.params.get("NextToken")) for call in calls] == [False, True, True]
    assert found == sorted([DEFAULT_ACCOUNT, *members])


def test_an_empty_page_with_a_next_token_is_not_the_end(org: Organization) -> None:
    # Given an organization whose first answer is an empty page that still has a NextToken
    members = org.add_accounts(25)
    session = boto3.session.Session()
    marker = "empty-page-token"
    answered: list[str] = []

    def empty_first_page(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if model.name != "ListAccounts" or answered:
            return None
        answered.append(model.name)
        return AWSResponse("", 200, {}, None), {"Accounts": [], "NextToken": marker}

    def forget_marker(params: dict[str, Any], **_: Any) -> None:
        if params.get("NextToken") == marker:  # the real first page follows
            del params["NextToken"]

    session.events.register("before-call.organizations.ListAccounts", empty_first_page)
    session.events.register("before-parameter-build.organizations.ListAccounts", forget_marker)
    # When listed
    found = list_active_accounts(session)
    # Then the empty page was answered, and every account after it is still there
    assert answered == ["ListAccounts"]
    assert found == sorted([DEFAULT_ACCOUNT, *members])


def test_organizational_units_and_their_children(org: Organization) -> None:
    # Given accounts at the root, in a unit, in its child unit, and in a sibling unit
    at_root = org.add_accounts(2)
    unit = org.add_unit(org.root, "workloads")
    child = org.add_unit(unit, "prod")
    sibling = org.add_unit(org.root, "sandbox")
    in_unit = org.add_accounts(21, parent=unit)  # beyond one page of ListAccountsForParent
    in_child = org.add_accounts(2, parent=child)
    in_sibling = org.add_accounts(1, parent=sibling)
    org.close(in_child[0])
    # When limited to the unit
    found = list_active_accounts(boto3.session.Session(), parent_ids=[unit])
    # Then the unit's and its child's active accounts, nothing at the root or in the sibling
    assert found == sorted([*in_unit, in_child[1]])
    assert not set(found) & {*at_root, *in_sibling, DEFAULT_ACCOUNT}
    # and two units name each account once
    assert list_active_accounts(boto3.session.Session(), parent_ids=[unit, child]) == found


def test_an_unknown_unit_is_a_typed_error(org: Organization) -> None:
    # Given a unit id that does not exist
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session(), parent_ids=["ou-abcd-12345678"])
    # Then the error names the call and the service's code
    assert raised.value.operation == "ListAccountsForParent"
    assert raised.value.code == "ParentNotFoundException"


def test_a_listing_with_no_account_at_all_is_a_typed_error(aws: None) -> None:
    # Given no organization: AWS refuses ListAccounts, moto answers an empty list; an
    # organization always holds its management account, so "none" is never believed
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session())
    assert (raised.value.operation, raised.value.code) == ("ListAccounts", "NoAccounts")


def test_denied_list_accounts_is_a_typed_error(
    server_org: tuple[str, Organization], fleet_server: FleetServer
) -> None:
    # Given ListAccounts denied
    url, _ = server_org
    fleet_server.layer.faults = [
        Fault("deny", operation="ListAccounts", code="AccessDeniedException")
    ]
    # When listed, then one typed error, not retried
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session(), endpoint_url=url, limits=FAST)
    assert (raised.value.operation, raised.value.code) == ("ListAccounts", "AccessDeniedException")
    assert len(fleet_server.layer.calls_to("ListAccounts")) == 1


def test_a_garbled_answer_is_a_typed_error(
    server_org: tuple[str, Organization], fleet_server: FleetServer
) -> None:
    # Given a 200 OK whose body no parser reads (a captive proxy's login page)
    url, _ = server_org
    fleet_server.layer.faults = [Fault("garble", operation="ListAccounts")]
    # Then a typed error naming the call, never a traceback
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session(), endpoint_url=url, limits=FAST)
    assert raised.value.operation == "ListAccounts"


def test_running_out_of_time_is_a_typed_error(org: Organization) -> None:
    org.add_accounts(25)
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session(), should_stop=lambda: True)
    assert (raised.value.operation, raised.value.code) == ("ListAccounts", "DeadlineExceeded")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda a: a.pop("State"), "MalformedResponse"),
        (lambda a: a.update(Id="12345"), "MalformedResponse"),
    ],
)
def test_an_account_that_cannot_be_read_fails_the_listing(
    server_org: tuple[str, Organization], fleet_server: FleetServer, change: Any, code: str
) -> None:
    # Given an answer whose account lacks its State (Status alone is never trusted) or Id
    url, org = server_org
    org.add_accounts(1)

    def mutate(answer: dict[str, Any]) -> dict[str, Any]:
        change(answer["Accounts"][-1])
        return answer

    fleet_server.layer.faults = [Fault("mutate", operation="ListAccounts", mutate=mutate)]
    # Then the listing fails, rather than skipping or guessing
    with pytest.raises(AccountListingError) as raised:
        list_active_accounts(boto3.session.Session(), endpoint_url=url, limits=FAST)
    assert raised.value.code == code


def test_member_role_arn() -> None:
    assert member_role_arn("111111111111", "hsm-backup-audit-member") == (
        "arn:aws:iam::111111111111:role/hsm-backup-audit-member"
    )
    assert member_role_arn("111111111111", "reader", "aws-us-gov") == (
        "arn:aws-us-gov:iam::111111111111:role/reader"
    )
    bad = [("1111", "r"), ("111111111111", "bad name"), ("111111111111", ""), ("1" * 12, "a/b")]
    for account, name in bad:
        with pytest.raises(ValueError, match="not an"):
            member_role_arn(account, name)

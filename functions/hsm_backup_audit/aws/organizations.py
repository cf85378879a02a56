"""The accounts of an AWS Organization, from the management account or a delegated administrator.

ListAccounts (or ListAccountsForParent under the organizational units asked for, and their
child units) is followed to its last NextToken, 20 accounts a page, the most the API
allows. Only accounts whose `State` is ACTIVE are audited; `Status` is never read (AWS
retires it on 2026-09-09). Any failure is an AccountListingError: the caller turns it into
an error entry, so a listing that failed can never read as "no accounts, compliant".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError, PaginationError, UnknownRegionError

from ..constants import (
    ACCOUNT_STATE_ACTIVE,
    MAX_EMPTY_PAGES_IN_A_ROW,
    ORGANIZATIONS_PAGE_SIZE,
    ROLE_NAME_PATTERN,
)
from ..engine.model import safe_text
from .cloudhsm import DEFAULT_LIMITS, ClientLimits, ListingError, client_config

SERVICE = "organizations"
LIST_ACCOUNTS = "ListAccounts"
LIST_ACCOUNTS_FOR_PARENT = "ListAccountsForParent"
LIST_UNITS_FOR_PARENT = "ListOrganizationalUnitsForParent"
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
DEFAULT_PARTITION = "aws"


def _never() -> bool:
    return False


class AccountListingError(ListingError):
    """The organization's accounts could not be listed. `operation` names the failed call."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(code, message)
        self.operation = operation


def partition_of(session: boto3.session.Session, regions: Sequence[str]) -> str:
    """The partition (aws, aws-cn, aws-us-gov...) of the session's region, or of the first
    region audited; a region botocore does not know yet is taken to be in `aws`."""
    region = session.region_name or next(iter(regions), None)
    if not region:
        return DEFAULT_PARTITION
    try:
        return str(session.get_partition_for_region(region))
    except UnknownRegionError:
        return DEFAULT_PARTITION


def member_role_arn(account_id: str, role_name: str, partition: str = DEFAULT_PARTITION) -> str:
    """The ARN of the member role `role_name` in `account_id`."""
    if not ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(f"not an account id: {safe_text(account_id, 40)!r}")
    if not re.fullmatch(ROLE_NAME_PATTERN, role_name):
        raise ValueError(f"not an IAM role name: {safe_text(role_name, 80)!r}")
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def _pages(
    client: Any,
    method: str,
    result_key: str,
    should_stop: Callable[[], bool],
    **params: Any,
) -> Iterator[list[Any]]:
    """Each page's list, NextToken followed to the end (an empty page may still carry one).

    botocore ends a repeated token with PaginationError; a run of empty pages that never
    ends is an error too."""
    paginator = client.get_paginator(method)
    config = {"PageSize": ORGANIZATIONS_PAGE_SIZE}
    empty_in_a_row = 0
    for page in paginator.paginate(**params, PaginationConfig=config):
        items = page.get(result_key)
        if not isinstance(items, list):
            said = "is missing" if items is None else "is not a list"
            raise ListingError("MalformedResponse", f"{result_key} {said} in the answer")
        yield items
        empty_in_a_row = 0 if items else empty_in_a_row + 1
        if empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW:
            message = f"{empty_in_a_row} empty pages in a row, each with a new NextToken"
            raise ListingError("MalformedResponse", message)
        if should_stop():
            raise ListingError("DeadlineExceeded", "stopped early: the time budget ran out")


def _active_ids(accounts: list[Any], skipped: dict[str, str]) -> Iterator[str]:
    for account in accounts:
        if not isinstance(account, dict):
            raise ListingError("MalformedResponse", "an account is not an object")
        account_id, state = account.get("Id"), account.get("State")
        if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
            raise ListingError("MalformedResponse", "an account has no 12-digit Id")
        if not isinstance(state, str):
            raise ListingError("MalformedResponse", f"account {account_id} has no State")
        if state == ACCOUNT_STATE_ACTIVE:
            yield account_id
        else:
            skipped[account_id] = safe_text(state, 64)


def _under_units(
    client: Any,
    parent_ids: Sequence[str],
    should_stop: Callable[[], bool],
    skipped: dict[str, str],
) -> set[str]:
    """Active accounts in the given units and every unit below them (depth first)."""
    found: set[str] = set()
    visited: set[str] = set()
    to_visit = list(parent_ids)
    while to_visit:
        parent = to_visit.pop()
        if parent in visited:
            continue
        visited.add(parent)
        for page in _pages(
            client, "list_accounts_for_parent", "Accounts", should_stop, ParentId=parent
        ):
            found.update(_active_ids(page, skipped))
        for page in _pages(
            client,
            "list_organizational_units_for_parent",
            "OrganizationalUnits",
            should_stop,
            ParentId=parent,
        ):
            for unit in page:
                unit_id = unit.get("Id") if isinstance(unit, dict) else None
                if not isinstance(unit_id, str):
                    raise ListingError("MalformedResponse", "an organizational unit has no Id")
                to_visit.append(unit_id)
    return found


def list_active_accounts(
    session: boto3.session.Session,
    *,
    parent_ids: Sequence[str] = (),
    endpoint_url: str | None = None,
    limits: ClientLimits = DEFAULT_LIMITS,
    should_stop: Callable[[], bool] = _never,
    skipped: dict[str, str] | None = None,
) -> list[str]:
    """The ids of the organization's ACTIVE accounts, sorted; under `parent_ids` if given.
    `skipped`, when given, receives every other account listed, with its State.

    Raises AccountListingError, whatever went wrong (denied, throttled past the retries,
    not in an organization, a unit that does not exist, an unreadable answer)."""
    operation = LIST_ACCOUNTS_FOR_PARENT if parent_ids else LIST_ACCOUNTS
    skipped = {} if skipped is None else skipped
    try:
        client = session.client(
            SERVICE,
            region_name=session.region_name,
            endpoint_url=endpoint_url,
            config=client_config(limits=limits),
        )
        if parent_ids:
            return sorted(_under_units(client, parent_ids, should_stop, skipped))
        found: set[str] = set()
        listed = 0
        for page in _pages(client, "list_accounts", "Accounts", should_stop):
            listed += len(page)
            found.update(_active_ids(page, skipped))
        if not listed:  # an organization always holds its management account
            raise ListingError("NoAccounts", "ListAccounts named no account, not even its own")
        return sorted(found)
    except ListingError as exc:
        raise AccountListingError(operation, exc.code, exc.message) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = safe_text(error.get("Code") or "ClientError", 64)
        message = safe_text(error.get("Message") or str(exc), 300)
        failed = exc.operation_name or operation
        raise AccountListingError(failed, code, message) from None
    except PaginationError:  # its text quotes the token: say it without
        message = "the same NextToken came back twice"
        raise AccountListingError(operation, "RepeatedNextToken", message) from None
    except Exception as exc:  # noqa: BLE001 - whatever it was, the caller gets a typed error
        message = safe_text(str(exc), 300)
        raise AccountListingError(operation, type(exc).__name__, message) from None

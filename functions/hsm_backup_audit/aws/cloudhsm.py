"""The thin adapter to AWS: sessions, clients and the CloudHSM v2 listings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from ..constants import (
    ASSUME_ROLE_SESSION_NAME,
    BACKUPS_PAGE_SIZE,
    CLUSTERS_PAGE_SIZE,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_WORKERS,
    MAX_EMPTY_PAGES_IN_A_ROW,
    READ_TIMEOUT_SECONDS,
    RETRY_MAX_ATTEMPTS,
    RETRY_MODE,
)

SERVICE = "cloudhsmv2"

# botocore logs each request's headers and canonical request at DEBUG, and with them an
# assumed role's session token. Unless a logger was set on purpose, the SDK logs from
# WARNING up, whatever level the root logger (or AWS_LAMBDA_LOG_LEVEL) asks for.
SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")
for _name in SDK_LOGGERS:
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)


class ListingError(Exception):
    """A listing ended early. `code` is what the error entry will carry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClientLimits:
    """How long one call may take: attempts x (connect + read) plus backoff, at worst.

    The defaults bound a hanging endpoint; tests shrink them to stay fast."""

    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS
    max_attempts: int = RETRY_MAX_ATTEMPTS


DEFAULT_LIMITS = ClientLimits()


def client_config(
    max_workers: int = DEFAULT_MAX_WORKERS,
    retry_mode: str = RETRY_MODE,
    limits: ClientLimits = DEFAULT_LIMITS,
) -> Config:
    return Config(
        # total_max_attempts counts the first call; botocore's "max_attempts" would not.
        retries={"mode": retry_mode, "total_max_attempts": limits.max_attempts},
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
        max_pool_connections=max(10, max_workers),
        user_agent_extra="hsm-backup-audit",
    )


def all_regions() -> list[str]:
    """Every region where CloudHSM v2 is offered, from botocore's own endpoint data."""
    return sorted(boto3.session.Session().get_available_regions(SERVICE))


@dataclass(frozen=True)
class Account:
    """Credentials for one account: the caller's own, or an assumed member role."""

    account_id: str
    session: boto3.session.Session
    role_arn: str | None = None


def account_id_of_role(role_arn: str) -> str:
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        raise ValueError(f"not an IAM role ARN: {role_arn}")
    return parts[4]


def caller_account(
    session: boto3.session.Session, endpoint_url: str | None, limits: ClientLimits = DEFAULT_LIMITS
) -> str:
    sts = session.client("sts", endpoint_url=endpoint_url, config=client_config(limits=limits))
    return str(sts.get_caller_identity()["Account"])


def assume_role(
    session: boto3.session.Session,
    role_arn: str,
    external_id: str | None,
    endpoint_url: str | None,
    limits: ClientLimits = DEFAULT_LIMITS,
) -> Account:
    account_id = account_id_of_role(role_arn)  # a malformed ARN never reaches STS
    sts = session.client("sts", endpoint_url=endpoint_url, config=client_config(limits=limits))
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": ASSUME_ROLE_SESSION_NAME}
    if external_id:
        kwargs["ExternalId"] = external_id
    creds = sts.assume_role(**kwargs)["Credentials"]
    assumed = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name,
    )
    return Account(account_id, assumed, role_arn)


def _pages(
    client: BaseClient,
    operation: str,
    result_key: str,
    page_size: int,
    should_stop: Callable[[], bool],
    **params: Any,
) -> Iterator[list[Any]]:
    """Follow NextToken to the end with botocore's paginator.

    A token seen before ends the listing with an error rather than looping, and so does a
    run of empty pages that never ends. A page without its list is malformed, never "none".
    """
    paginator = client.get_paginator(operation)
    pages = iter(paginator.paginate(**params, PaginationConfig={"PageSize": page_size}))
    seen_tokens: set[str] = set()
    empty_in_a_row = 0
    while True:
        if should_stop():
            raise ListingError("DeadlineExceeded", "stopped early: the time budget ran out")
        try:
            page = next(pages)
        except StopIteration:
            return
        items = page.get(result_key)
        if not isinstance(items, list):
            said = "is missing" if items is None else "is not a list"
            raise ListingError("MalformedResponse", f"{result_key} {said} in the answer")
        yield items
        token = page.get("NextToken")
        empty_in_a_row = 0 if items or not token else empty_in_a_row + 1
        if empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW:
            raise ListingError(
                "MalformedResponse",
                f"{empty_in_a_row} empty pages in a row, each with a new NextToken",
            )
        if token:
            if token in seen_tokens:
                raise ListingError("RepeatedNextToken", "the same NextToken came back twice")
            seen_tokens.add(token)


def backup_pages(
    client: BaseClient, shared: bool, should_stop: Callable[[], bool]
) -> Iterator[list[Any]]:
    return _pages(
        client, "describe_backups", "Backups", BACKUPS_PAGE_SIZE, should_stop, Shared=shared
    )


def cluster_pages(client: BaseClient, should_stop: Callable[[], bool]) -> Iterator[list[Any]]:
    return _pages(client, "describe_clusters", "Clusters", CLUSTERS_PAGE_SIZE, should_stop)

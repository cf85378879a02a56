"""The thin adapter to AWS: sessions, clients and the CloudHSM v2 listings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from .constants import (
    ASSUME_ROLE_SESSION_NAME,
    BACKUPS_PAGE_SIZE,
    CLUSTERS_PAGE_SIZE,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_WORKERS,
    READ_TIMEOUT_SECONDS,
    RETRY_MAX_ATTEMPTS,
    RETRY_MODE,
)

SERVICE = "cloudhsmv2"


class ListingError(Exception):
    """A listing ended early. `code` is what the error entry will carry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def client_config(max_workers: int = DEFAULT_MAX_WORKERS, retry_mode: str = RETRY_MODE) -> Config:
    return Config(
        retries={"mode": retry_mode, "max_attempts": RETRY_MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
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


def caller_account(session: boto3.session.Session, endpoint_url: str | None) -> str:
    sts = session.client("sts", endpoint_url=endpoint_url, config=client_config())
    return str(sts.get_caller_identity()["Account"])


def assume_role(
    session: boto3.session.Session,
    role_arn: str,
    external_id: str | None,
    endpoint_url: str | None,
) -> Account:
    sts = session.client("sts", endpoint_url=endpoint_url, config=client_config())
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
    return Account(account_id_of_role(role_arn), assumed, role_arn)


def _pages(
    client: BaseClient,
    operation: str,
    result_key: str,
    page_size: int,
    should_stop: Callable[[], bool],
    **params: Any,
) -> Iterator[list[Any]]:
    """Follow NextToken to the end with botocore's paginator.

    A token seen before ends the listing with an error rather than looping.
    """
    paginator = client.get_paginator(operation)
    pages = iter(paginator.paginate(**params, PaginationConfig={"PageSize": page_size}))
    seen_tokens: set[str] = set()
    while True:
        if should_stop():
            raise ListingError("DeadlineExceeded", "stopped early: the time budget ran out")
        try:
            page = next(pages)
        except StopIteration:
            return
        items = page.get(result_key)
        if items is not None and not isinstance(items, list):
            raise ListingError("MalformedResponse", f"{result_key} is not a list")
        yield items or []
        token = page.get("NextToken")
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

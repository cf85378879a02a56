"""The thin adapter to AWS: sessions, clients and the CloudHSM v2 listings."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from ..constants import (
    BACKUPS_PAGE_SIZE,
    CLUSTERS_PAGE_SIZE,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_WORKERS,
    MAX_EMPTY_PAGES_IN_A_ROW,
    MAX_REPEATED_PAGES_IN_A_ROW,
    READ_TIMEOUT_SECONDS,
    RETRY_MAX_ATTEMPTS,
    RETRY_MODE,
)
from ..regions import cloudhsm_regions

SERVICE = "cloudhsmv2"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Regions an account can call: enabled by default, or opted in (EC2's OptInStatus).
ENABLED_OPT_IN = frozenset({"opt-in-not-required", "opted-in"})
# The userinfo of a URL (scheme://user:secret@host): never echoed in a message.
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")

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
    connections: int | None = None,
) -> Config:
    """`connections`: the most sockets the client keeps (botocore's max_pool_connections);
    by default one per worker, at least 10 (botocore's default)."""
    return Config(
        # total_max_attempts counts the first call; botocore's "max_attempts" would not.
        retries={"mode": retry_mode, "total_max_attempts": limits.max_attempts},
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
        max_pool_connections=connections or max(10, max_workers),
        user_agent_extra="hsm-backup-audit",
    )


def all_regions() -> list[str]:
    """Every region of the aws partition where CloudHSM v2 is offered (botocore's data)."""
    return list(cloudhsm_regions())


def without_url_credentials(text: str) -> str:
    """The text with the user:password@ part of any URL in it removed."""
    return URL_USERINFO.sub(r"\1", text)


@dataclass(frozen=True)
class Account:
    """Credentials for one account: the caller's own, or an assumed member role."""

    account_id: str
    session: boto3.session.Session
    role_arn: str | None = None


def account_id_of_role(role_arn: str) -> str:
    parts = role_arn.split(":")
    if len(parts) < 6 or not ACCOUNT_ID.fullmatch(parts[4]):
        raise ValueError("not an IAM role ARN with a 12-digit account id")
    return parts[4]


def sts_client(
    session: boto3.session.Session,
    region: str | None,
    endpoint_url: str | None,
    limits: ClientLimits = DEFAULT_LIMITS,
) -> BaseClient:
    """One STS client for a run (clients are thread-safe), in the home region, so a custom
    endpoint needs no AWS_DEFAULT_REGION."""
    return session.client(
        "sts",
        region_name=region or session.region_name,
        endpoint_url=endpoint_url,
        config=client_config(limits=limits),
    )


def caller_account(sts: BaseClient) -> str:
    """The caller's account id, checked to be 12 digits before anything uses it."""
    answer = sts.get_caller_identity()
    account = answer.get("Account") if isinstance(answer, dict) else None
    if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
        raise ListingError("MalformedResponse", "GetCallerIdentity: Account is not 12 digits")
    return account


def enabled_regions(
    session: boto3.session.Session,
    region: str,
    endpoint_url: str | None,
    limits: ClientLimits = DEFAULT_LIMITS,
) -> frozenset[str]:
    """The regions enabled for the session's account (EC2 DescribeRegions, documented to
    list only those unless AllRegions is set; filtered on OptInStatus all the same)."""
    ec2 = session.client(
        "ec2", region_name=region, endpoint_url=endpoint_url, config=client_config(limits=limits)
    )
    try:
        listed = ec2.describe_regions().get("Regions")
    finally:
        ec2.close()  # its socket, kept open by the endpoint, is not held for the whole run
    if not isinstance(listed, list):
        raise ListingError("MalformedResponse", "DescribeRegions: Regions is not a list")
    return frozenset(
        entry["RegionName"]
        for entry in listed
        if isinstance(entry, dict)
        and isinstance(entry.get("RegionName"), str)
        and entry.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN
    )


def _identity(item: Any, keys: tuple[str, ...]) -> str | None:
    if isinstance(item, dict):
        for key in keys:
            value = item.get(key)
            if isinstance(value, str) and value:
                return f"{key}={value}"
    return None


def _pages(
    client: BaseClient,
    operation: str,
    result_key: str,
    page_size: int,
    should_stop: Callable[[], bool],
    identity_keys: tuple[str, ...],
    **params: Any,
) -> Iterator[list[Any]]:
    """Follow NextToken to the end with botocore's paginator.

    A token seen before ends the listing with an error rather than looping, and so does a
    run of empty pages, or of pages listing only what was listed already, that never
    ends. A page without its list is malformed, never "none".
    """
    paginator = client.get_paginator(operation)
    pages = iter(paginator.paginate(**params, PaginationConfig={"PageSize": page_size}))
    seen_tokens: set[str] = set()
    seen_items: set[str] = set()
    empty_in_a_row = repeated_in_a_row = 0
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
        ids = [_identity(item, identity_keys) for item in items]
        repeated = bool(ids) and all(i is not None and i in seen_items for i in ids)
        repeated_in_a_row = repeated_in_a_row + 1 if repeated and token else 0
        if repeated_in_a_row >= MAX_REPEATED_PAGES_IN_A_ROW:
            raise ListingError(
                "RepeatedPages",
                f"{repeated_in_a_row} pages in a row listed only {result_key} already listed",
            )
        seen_items.update(i for i in ids if i is not None)
        if token:
            if token in seen_tokens:
                raise ListingError("RepeatedNextToken", "the same NextToken came back twice")
            seen_tokens.add(token)


def backup_pages(
    client: BaseClient, shared: bool, should_stop: Callable[[], bool]
) -> Iterator[list[Any]]:
    return _backup_pages(client, should_stop, Shared=shared)


def _backup_pages(
    client: BaseClient, should_stop: Callable[[], bool], **params: Any
) -> Iterator[list[Any]]:
    return _pages(
        client,
        "describe_backups",
        "Backups",
        BACKUPS_PAGE_SIZE,
        should_stop,
        ("BackupArn", "BackupId"),
        **params,
    )


def cluster_pages(client: BaseClient, should_stop: Callable[[], bool]) -> Iterator[list[Any]]:
    return _pages(
        client, "describe_clusters", "Clusters", CLUSTERS_PAGE_SIZE, should_stop, ("ClusterId",)
    )


def ready_backup_pages(
    client: BaseClient, cluster_id: str, should_stop: Callable[[], bool]
) -> Iterator[list[Any]]:
    """The READY backups of one cluster (for `fix`: which is its newest)."""
    return _backup_pages(
        client, should_stop, Filters={"clusterIds": [cluster_id], "states": ["READY"]}
    )


def one_cluster_pages(
    client: BaseClient, cluster_id: str, should_stop: Callable[[], bool]
) -> Iterator[list[Any]]:
    return _pages(
        client,
        "describe_clusters",
        "Clusters",
        CLUSTERS_PAGE_SIZE,
        should_stop,
        ("ClusterId",),
        Filters={"clusterIds": [cluster_id]},
    )

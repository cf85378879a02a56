"""A member account's session: AssumeRole once, then botocore refreshes the credentials.

Assumed-role credentials last an hour by default while `--max-seconds` allows a day, so
the session's credentials are botocore's RefreshableCredentials: botocore assumes the role
again (through the run's one STS client) when less than 15 minutes are left of them, and
waits for that when less than 10 are left. Every member session shares one data loader.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.loaders import Loader

from ..constants import ASSUME_ROLE_SESSION_NAME
from .cloudhsm import Account, ListingError, account_id_of_role


@functools.cache
def shared_loader() -> Loader:
    """One botocore data loader for every member session: each session would otherwise
    read and parse the service models again (about 60 ms a member account)."""
    return botocore.session.get_session().get_component("data_loader")


class _Given(CredentialProvider):  # type: ignore[misc]
    """Hands botocore the credentials of an assumed role (and nothing else)."""

    METHOD = "assume-role"
    CANONICAL_NAME = "AssumeRole"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _expiry(value: Any) -> str | None:
    """STS's Expiration as ISO 8601 in UTC (botocore reads it so), None when absent."""
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _assumed(sts: BaseClient, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One AssumeRole call: botocore's credential metadata (expiry_time may be None)."""
    creds = sts.assume_role(**kwargs).get("Credentials")
    keys = ("AccessKeyId", "SecretAccessKey", "SessionToken")
    if not isinstance(creds, dict) or not all(isinstance(creds.get(k), str) for k in keys):
        raise ListingError("MalformedResponse", "AssumeRole: the answer holds no credentials")
    return {
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "token": creds["SessionToken"],
        "expiry_time": _expiry(creds.get("Expiration")),
    }


def assume_role(
    sts: BaseClient, role_arn: str, external_id: str | None, region: str | None
) -> Account:
    """The member account behind `role_arn`, its session in `region`.

    The credentials refresh themselves: botocore assumes the role again (through `sts`,
    which must stay open) when less than 15 minutes are left of them, so a listing that
    starts after the first hour, under a --max-seconds of up to a day, is not refused
    with ExpiredToken."""
    account_id = account_id_of_role(role_arn)  # a malformed ARN never reaches STS
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": ASSUME_ROLE_SESSION_NAME}
    if external_id:
        kwargs["ExternalId"] = external_id
    first = _assumed(sts, kwargs)
    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    if first["expiry_time"] is None:  # no expiry stated: nothing to refresh by
        core.set_credentials(first["access_key"], first["secret_key"], first["token"])
    else:

        def refresh() -> dict[str, Any]:
            again = _assumed(sts, kwargs)
            if again["expiry_time"] is None:
                raise ListingError("MalformedResponse", "AssumeRole: the answer has no expiry")
            return again

        credentials = RefreshableCredentials.create_from_metadata(
            first, refresh_using=refresh, method=_Given.METHOD
        )
        core.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
    assumed = boto3.session.Session(
        botocore_session=core, region_name=region or sts.meta.region_name
    )
    return Account(account_id, assumed, role_arn)

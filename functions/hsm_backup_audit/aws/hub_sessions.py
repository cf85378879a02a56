"""The session each account's findings are imported with (aws/security_hub.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import boto3
from botocore.client import BaseClient

from .assumed import assume_role
from .cloudhsm import DEFAULT_LIMITS, ClientLimits, account_id_of_role, caller_account, sts_client
from .organizations import member_role_arn
from .organizations import partition_of as organization_partition

CLIENTS_LOCK = threading.Lock()  # a boto3 Session is not thread-safe: one client made at a time


@dataclass
class AccountSessions:
    """The session to import each account's findings with: the caller's own for its own
    account, the member role's for a member account (assumed once, when first needed).
    Safe to call from several threads: an account's role is assumed once, through one STS
    client."""

    session: boto3.session.Session
    role_arns: Sequence[str] = ()
    external_id: str | None = None
    endpoint_url: str | None = None
    limits: ClientLimits = DEFAULT_LIMITS
    member_role_name: str | None = None  # organization mode: this role in any other account
    _cache: dict[str, boto3.session.Session] = field(default_factory=dict, init=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _own_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _own: str | None = field(default=None, init=False)
    _sts_client: BaseClient | None = field(default=None, init=False)
    _roles: dict[str, str] | None = field(default=None, init=False)

    def _sts(self) -> BaseClient:
        with self._lock:
            if self._sts_client is None:
                with CLIENTS_LOCK:
                    self._sts_client = sts_client(
                        self.session, None, self.endpoint_url, self.limits
                    )
            return self._sts_client

    def _own_account(self) -> str:
        with self._own_lock:  # asked once, not by every worker at the start
            if self._own is None:
                self._own = caller_account(self._sts())
            return self._own

    def __call__(self, account_id: str) -> boto3.session.Session:
        with self._lock:
            lock = self._locks.setdefault(account_id, threading.Lock())
        with lock:
            if account_id not in self._cache:
                self._cache[account_id] = self._session(account_id)
            return self._cache[account_id]

    def _session(self, account_id: str) -> boto3.session.Session:
        if account_id == self._own_account():
            return self.session
        with self._lock:
            if self._roles is None:  # by account, once: an organization has thousands
                self._roles = {}
                for arn in reversed(self.role_arns):  # the first one given for an account
                    try:
                        self._roles[account_id_of_role(arn)] = arn
                    except ValueError:
                        continue  # not a role ARN: no account to import for through it
            roles = [self._roles[account_id]] if account_id in self._roles else []
        if not roles and self.member_role_name:
            with CLIENTS_LOCK:
                partition = organization_partition(self.session, ())
            roles = [member_role_arn(account_id, self.member_role_name, partition)]
        if not roles:
            raise LookupError(f"no member role is configured for account {account_id}")
        return assume_role(self._sts(), roles[0], self.external_id, None).session

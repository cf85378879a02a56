"""Setting up the audited accounts side by side, under the run's deadline.

ACCOUNT_SETUP_WORKERS threads (never one per account: Lambda allows 1,024 threads) set up
each account: GetCallerIdentity (the caller's own) or AssumeRole (a member), then, for
`all`, DescribeRegions to learn which regions that account has enabled. A call still stuck
when time runs out is abandoned, and it and every account not yet set up become
DeadlineExceeded entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import boto3
from botocore.client import BaseClient

from ..constants import ACCOUNT_SETUP_WORKERS
from ..engine.model import ScanError
from ..regions import ALL_REGIONS, cloudhsm_regions, partition_of
from .assumed import assume_role
from .cloudhsm import (
    Account,
    ClientLimits,
    ListingError,
    caller_account,
    enabled_regions,
    sts_client,
)
from .errors import describe_exception
from .organizations import AccountListingError, list_active_accounts, member_role_arn
from .pool import run_bounded

GLOBAL = "global"
DEFAULT_PARTITION = "aws"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Access:
    """How to reach the accounts: the caller's session and the member roles."""

    session: boto3.session.Session
    role_arns: Sequence[str] = ()
    external_id: str | None = None
    endpoint_url: str | None = None
    home_region: str | None = None  # STS and DescribeRegions are asked here
    limits: ClientLimits = field(default_factory=ClientLimits)


@dataclass(frozen=True)
class AccountPlan:
    account: Account
    regions: tuple[str, ...]
    not_enabled: tuple[str, ...] = ()


@dataclass
class _SharedSts:
    """One STS client for a set-up (clients are thread-safe): the first thread to need it
    builds it, so a hundred members do not each load the service model."""

    access: Access
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: BaseClient | None = None

    def get(self) -> BaseClient:
        with self.lock:
            if self.client is None:
                access = self.access
                self.client = sts_client(
                    access.session, access.home_region, access.endpoint_url, access.limits
                )
            return self.client


@dataclass
class _Task:
    role_arn: str | None  # None: the caller's own identity
    step: str
    account_id: str
    plan: AccountPlan | None = None
    errors: list[ScanError] = field(default_factory=list)


def _partition(home_region: str | None) -> str:
    """The home region's partition (aws, aws-cn, aws-us-gov...), aws when it is not known."""
    try:
        return partition_of(home_region) if home_region else DEFAULT_PARTITION
    except ValueError:
        return DEFAULT_PARTITION


def _candidates(home_region: str | None) -> tuple[str, ...]:
    """The CloudHSM regions of the home region's partition."""
    return cloudhsm_regions(_partition(home_region))


def _regions_for(
    task: _Task, account: Account, access: Access, asked: Sequence[str]
) -> AccountPlan:
    named = tuple(r for r in asked if r != ALL_REGIONS)
    if ALL_REGIONS not in asked:
        return AccountPlan(account, named)
    task.step = "DescribeRegions"
    where = access.home_region or GLOBAL
    try:
        if not access.home_region:
            raise ListingError("NoRegion", "no home region to ask which regions are enabled")
        enabled = enabled_regions(
            account.session, access.home_region, access.endpoint_url, access.limits
        )
    except Exception as exc:  # noqa: BLE001 - fail closed: an error entry, INCOMPLETE
        code, message = describe_exception(exc)
        task.errors.append(ScanError(account.account_id, where, task.step, code, message))
        return AccountPlan(account, named)
    candidates = _candidates(access.home_region)
    extra = tuple(r for r in candidates if r in enabled and r not in named)
    skipped = tuple(r for r in candidates if r not in enabled and r not in named)
    return AccountPlan(account, named + extra, skipped)


def _set_up(task: _Task, access: Access, asked: Sequence[str], shared: _SharedSts) -> None:
    try:
        sts = shared.get()
        if task.role_arn is None:
            account = Account(caller_account(sts), access.session)
        else:
            account = assume_role(sts, task.role_arn, access.external_id, access.home_region)
    except Exception as exc:  # noqa: BLE001 - even a garbled answer is an error entry
        code, message = describe_exception(exc)
        task.errors.append(ScanError(task.account_id, GLOBAL, task.step, code, message))
        return
    task.account_id = account.account_id
    task.plan = _regions_for(task, account, access, asked)


def _account_of_role(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) >= 6 and parts[4] else UNKNOWN


def set_up_accounts(
    access: Access,
    asked_regions: Sequence[str],
    should_stop: Callable[[], bool],
    caller: bool = True,
) -> tuple[list[AccountPlan], list[ScanError]]:
    """Every account's plan (the caller first unless `caller` is false, then the roles in
    order, each account once) and the error entries of those that could not be set up."""
    tasks = [_Task(None, "GetCallerIdentity", UNKNOWN)] if caller else []
    tasks += [_Task(arn, "AssumeRole", _account_of_role(arn)) for arn in access.role_arns]
    shared = _SharedSts(access)
    done = run_bounded(
        tasks,
        lambda task: _set_up(task, access, asked_regions, shared),
        ACCOUNT_SETUP_WORKERS,
        should_stop,
        "account",
    )
    plans: list[AccountPlan] = []
    errors: list[ScanError] = []
    for index, task in enumerate(tasks):
        if index not in done:
            where = GLOBAL if task.step != "DescribeRegions" else access.home_region or GLOBAL
            message = "stopped waiting: the time budget ran out"
            errors.append(ScanError(task.account_id, where, task.step, "DeadlineExceeded", message))
            continue
        errors.extend(task.errors)
        if task.plan and all(p.account.account_id != task.account_id for p in plans):
            plans.append(task.plan)
    return plans, errors


def organization_role_arns(
    access: Access,
    plans: Sequence[AccountPlan],
    *,
    member_role_name: str,
    organizational_units: Sequence[str],
    should_stop: Callable[[], bool],
    skipped: dict[str, str] | None = None,
) -> tuple[list[str], list[ScanError]]:
    """The member role of each ACTIVE account of the organization, but the accounts already
    set up (the caller's own, those given by ARN). A listing that fails is an error entry
    (the run is INCOMPLETE), never "no accounts". `skipped` receives the accounts not
    ACTIVE, with their State."""
    own = next((p.account.account_id for p in plans if p.account.role_arn is None), None)
    try:
        members = list_active_accounts(
            access.session,
            parent_ids=organizational_units,
            endpoint_url=access.endpoint_url,
            limits=access.limits,
            should_stop=should_stop,
            skipped=skipped,
        )
    except AccountListingError as exc:
        return [], [ScanError(own or UNKNOWN, GLOBAL, exc.operation, exc.code, exc.message)]
    partition = _partition(access.home_region)
    given = {_account_of_role(arn) for arn in access.role_arns} | {own}
    roles = [
        member_role_arn(account_id, member_role_name, partition)
        for account_id in members
        if account_id not in given
    ]
    return roles, []

"""What one scan is asked to read, and how: regions, accounts, policy, limits, time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import boto3

from ..constants import DEFAULT_MAX_WORKERS, DEFAULT_MEMBER_ROLE_NAME, RETRY_MODE
from ..engine.audit import Audit
from ..engine.policy import Policy
from .cloudhsm import DEFAULT_LIMITS, ClientLimits
from .deadline import never


@dataclass(frozen=True)
class ScanRequest:
    regions: Sequence[str]  # checked names; "all": every region enabled for each account
    policy: Policy
    policy_source: str = "defaults"
    role_arns: Sequence[str] = ()
    external_id: str | None = None
    endpoint_url: str | None = None
    max_workers: int = DEFAULT_MAX_WORKERS
    retry_mode: str = RETRY_MODE
    should_stop: Callable[[], bool] = never
    session: boto3.session.Session | None = None
    home_region: str | None = None  # where STS and DescribeRegions are asked
    now: datetime | None = None
    limits: ClientLimits = DEFAULT_LIMITS  # timeouts and attempts per call (tests shrink them)
    # A batch of a fan-out audits its caller's own account only when it is in the batch.
    include_caller: bool = True
    audit_factory: Callable[[Policy, datetime], Audit] = Audit  # PartialAudit for a partial
    # Organization mode: every ACTIVE account (under these units, if any) through one role.
    organization: bool = False
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    organizational_units: Sequence[str] = ()

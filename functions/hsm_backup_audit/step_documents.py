"""The documents the fan-out's steps hand each other, read strictly, and the checks made
on them: a batch's work items against the plan, and the Map's error when it stopped.
Pure: no AWS here (steps.py runs the steps)."""

from __future__ import annotations

import math
import os
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .aws.cloudhsm import account_id_of_role
from .constants import ACCOUNT_ID_PATTERN, ENV_FANOUT_BATCH_SIZE, ROLE_ARN_PATTERN
from .engine.model import ScanError, safe_text
from .engine.partial import GLOBAL

PLAN_NAME = "plan.json"
CHECK_OPERATION = "CheckWorkItem"
CHECK_CODE = "InvalidWorkItem"
WORK_LIST_NAME = "accounts.json"
PARTIALS_FOLDER = "partials/"


class StepInputError(ValueError):
    """A step was handed a document it cannot use (one line)."""


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WorkItem(_Document):
    """One account to audit: through its member role, or (role_arn null) own credentials."""

    account_id: Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)]
    role_arn: str | None = None


class RunInfo(_Document):
    """What plan returns, and what each batch (BatchInput) and the merge step receive."""

    run: str
    bucket: str
    prefix: str  # fanout/<run>/
    generated_at: datetime
    accounts: int = 0

    @property
    def work_list(self) -> str:
        return self.prefix + WORK_LIST_NAME

    @property
    def partials(self) -> str:
        return self.prefix + PARTIALS_FOLDER


class MapError(_Document):
    """What the Map's Catch puts in `$.batches_error` when the Distributed Map stops (past
    its tolerated failure percentage, or the item reader or result writer failing)."""

    Error: str = "States.ALL"
    Cause: str = ""


class MergeInput(RunInfo):
    batches_error: MapError | None = None


class BatchEvent(_Document):
    Items: list[WorkItem]
    BatchInput: RunInfo


def parse_event(model: type[_Document], event: Any, step: str) -> Any:
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise StepInputError(f"{step}: unexpected input: {where}: {first['msg']}") from None


def check_items(items: list[WorkItem], planned: Any) -> tuple[list[WorkItem], list[ScanError]]:
    """The work items the plan allows, and an error entry for each other one: an account
    the plan did not list, a role ARN in another account than the item's, or no role for
    any account but the caller's own. Never an audit of another account instead."""
    plan_accounts = planned.get("accounts") if isinstance(planned, dict) else None
    caller = planned.get("caller_account") if isinstance(planned, dict) else None
    listed = set(plan_accounts) if isinstance(plan_accounts, list) else set()
    allowed: list[WorkItem] = []
    refused: list[ScanError] = []
    for item in items:
        if item.account_id not in listed:
            why = "the plan does not list this account"
        elif item.role_arn is None and item.account_id != caller:
            why = "no role to assume: only the caller's own account is read without one"
        elif item.role_arn is not None and not _role_in(item.role_arn, item.account_id):
            why = f"the role {safe_text(item.role_arn, 200)} is not in this account"
        else:
            allowed.append(item)
            continue
        refused.append(ScanError(item.account_id, GLOBAL, CHECK_OPERATION, CHECK_CODE, why))
    return allowed, refused


def _role_in(role_arn: str, account_id: str) -> bool:
    return bool(re.fullmatch(ROLE_ARN_PATTERN, role_arn)) and account_id_of_role(role_arn) == (
        account_id
    )


MAP_CAUSE_SHOWN = 300


def map_stopped(error: MapError, accounts: list[str], partials: int) -> ScanError:
    """One error entry, one line in the digest: why the Map stopped, how many batches
    failed (the batches planned, from the batch size, less the partial reports written),
    and the Map's first error."""
    size = os.environ.get(ENV_FANOUT_BATCH_SIZE, "")
    own = accounts[0] if accounts else "unknown"
    cause = " ".join(error.Cause.split())[:MAP_CAUSE_SHOWN] or "no cause given"
    if size.isdigit() and int(size) > 0:
        planned = math.ceil(len(accounts) / int(size))
        failed = f"{max(planned - partials, 0)} of {planned} batches failed"
    else:
        failed = f"{partials} partial reports written for {len(accounts)} accounts"
    return ScanError(
        own,
        GLOBAL,
        "Batches",
        error.Error,
        f"the Distributed Map stopped: {failed}; first error: {error.Error}: {cause}",
    )

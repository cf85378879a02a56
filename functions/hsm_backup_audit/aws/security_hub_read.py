"""Reads the audit's own ACTIVE findings back from Security Hub (GetFindings), for the
reconciliation (engine/reconcile.py): each account and region this run read, through that
account's session, filtered by product, generator, account, region and RecordState, and
filtered again on this side (an emulator may ignore Filters). At most
SECURITY_HUB_MAX_WORKERS at once, under the run's deadline: a read that fails, or that the
deadline cut short, is a problem for that account and region (its findings are then not
reconciled), never "nothing to archive". Never raises for AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from ..constants import SECURITY_HUB_MAX_WORKERS, SECURITY_HUB_PAGE_SIZE
from ..engine.asff import product_arn
from ..engine.reconcile import get_findings_filters, is_ours
from ..engine.security_hub_outcome import ImportProblem
from .errors import describe_exception
from .hub_sessions import CLIENTS_LOCK
from .pool import run_bounded

OPERATION = "GetFindings"
Group = tuple[str, str]  # account id, region
Documents = list[dict[str, Any]]


class _Stopped(Exception):
    """The time budget ran out between two pages."""


def _read_group(
    where: Group,
    session: boto3.session.Session,
    partition: str,
    endpoint_url: str | None,
    config: Any,
    should_stop: Callable[[], bool],
) -> Documents:
    account_id, region = where
    product = product_arn(partition, region, account_id)
    with CLIENTS_LOCK:
        client = session.client(
            "securityhub", region_name=region, endpoint_url=endpoint_url, config=config
        )
    try:
        pages = client.get_paginator("get_findings").paginate(
            Filters=get_findings_filters(product, account_id, region),
            PaginationConfig={"PageSize": SECURITY_HUB_PAGE_SIZE},
        )
        found: Documents = []
        for page in pages:
            findings = page.get("Findings", [])
            found += [doc for doc in findings if is_ours(doc, product, account_id, region)]
            if should_stop():
                raise _Stopped
        return found
    finally:
        client.close()


def read_active(
    groups: list[Group],
    session_for: Callable[[str], boto3.session.Session],
    partition_of: Callable[[str], str],
    *,
    endpoint_url: str | None,
    config: Any,
    should_stop: Callable[[], bool],
) -> tuple[dict[Group, Documents], list[ImportProblem]]:
    """The audit's ACTIVE findings in each account and region read completely, and a
    problem for each one that could not be read to its last page."""

    def read(where: Group) -> Documents:
        session, partition = session_for(where[0]), partition_of(where[1])
        return _read_group(where, session, partition, endpoint_url, config, should_stop)

    done = run_bounded(groups, read, SECURITY_HUB_MAX_WORKERS, should_stop, "security-hub-read")
    found: dict[Group, Documents] = {}
    problems: list[ImportProblem] = []
    for index, where in enumerate(groups):
        outcome = done.get(index)
        if outcome is None or isinstance(outcome.error, _Stopped):
            code, message = "DeadlineExceeded", "not read: the time budget ran out"
        elif outcome.error is not None:
            code, message = describe_exception(outcome.error)
        else:
            found[where] = outcome.value or []
            continue
        problems.append(ImportProblem(*where, code, message, 0, OPERATION))
    return found, problems

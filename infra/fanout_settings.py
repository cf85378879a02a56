"""The fan-out's settings, read from CDK context (defaults in infra/constants.py)."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Node

from . import constants as c
from .settings import SettingsError, _number


@dataclass(frozen=True)
class FanoutSettings:
    batch_size: int  # accounts per child execution (ItemBatcher MaxItemsPerBatch)
    max_concurrency: int  # child executions at once (MaxConcurrency)
    tolerated_failure_percentage: int  # past this, the Map stops; the merge still runs


def read_fanout_settings(node: Node) -> FanoutSettings:
    """MaxConcurrency is checked against the account's Lambda concurrency quota."""
    quota = _number(node, c.CTX_LAMBDA_CONCURRENCY_QUOTA, 1, 1_000_000)
    concurrency = _number(node, c.CTX_FANOUT_MAX_CONCURRENCY, 1, 10000)
    room = quota - c.FANOUT_CONCURRENCY_HEADROOM
    if concurrency > room:
        raise SettingsError(
            f"{c.CTX_FANOUT_MAX_CONCURRENCY}: {concurrency} batches at once do not fit "
            f"{c.CTX_LAMBDA_CONCURRENCY_QUOTA} ({quota}) less {c.FANOUT_CONCURRENCY_HEADROOM} "
            f"for the account's other functions: set it to {max(room, 1)} at most, or raise "
            f"the Lambda concurrency quota and set {c.CTX_LAMBDA_CONCURRENCY_QUOTA}"
        )
    return FanoutSettings(
        batch_size=_number(node, c.CTX_FANOUT_BATCH_SIZE, 1, c.FANOUT_BATCH_SIZE_MAX),
        max_concurrency=concurrency,
        tolerated_failure_percentage=_number(node, c.CTX_FANOUT_TOLERATED_FAILURE, 0, 100),
    )

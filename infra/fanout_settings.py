"""The fan-out's settings, read from CDK context (defaults in infra/constants.py)."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Node

from . import constants as c
from .settings import _number


@dataclass(frozen=True)
class FanoutSettings:
    batch_size: int  # accounts per child execution (ItemBatcher MaxItemsPerBatch)
    max_concurrency: int  # child executions at once (MaxConcurrency)
    tolerated_failure_percentage: int  # past this, the Map stops; the merge still runs


def read_fanout_settings(node: Node) -> FanoutSettings:
    return FanoutSettings(
        batch_size=_number(node, c.CTX_FANOUT_BATCH_SIZE, 1, c.FANOUT_BATCH_SIZE_MAX),
        max_concurrency=_number(node, c.CTX_FANOUT_MAX_CONCURRENCY, 1, 10000),
        tolerated_failure_percentage=_number(node, c.CTX_FANOUT_TOLERATED_FAILURE, 0, 100),
    )

"""Region names, checked before any call against botocore's own partition data (no network).

The command line (`--region`), the Lambda (REGIONS, TOPIC_ARN) and the CDK app (context
`regions`) all check names here, so a typo is one line naming the closest known region.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

import botocore.session
from botocore.loaders import create_loader

from .engine.model import safe_text

ALL_REGIONS = "all"  # every region enabled for the account, asked at run time
CLOUDHSM_SERVICE = "cloudhsmv2"
# Shape of a region name in every partition: us-east-1, us-gov-west-1, eu-isoe-west-1.
REGION_SHAPE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")
SHOWN_LENGTH = 64
SUGGESTION_CUTOFF = 0.6
MAX_SUGGESTIONS = 4  # names equally close, named together ("us-east-1 or us-west-1")


class RegionError(ValueError):
    """A region name that is not a region. Its message is one line."""


@functools.cache
def _regions_by_partition() -> dict[str, tuple[str, ...]]:
    data = create_loader().load_data("endpoints")
    return {part["partition"]: tuple(part["regions"]) for part in data["partitions"]}


def known_regions() -> frozenset[str]:
    """Every region of every partition this botocore knows."""
    return frozenset(name for names in _regions_by_partition().values() for name in names)


def partition_of(region: str) -> str:
    for partition, names in _regions_by_partition().items():
        if region in names:
            return partition
    raise RegionError(f"{safe_text(region, SHOWN_LENGTH)!r} is not a known AWS region")


@functools.cache
def cloudhsm_regions(partition: str = "aws") -> tuple[str, ...]:
    """The regions of a partition where CloudHSM v2 is offered, from botocore's endpoint data."""
    session = botocore.session.get_session()
    return tuple(sorted(session.get_available_regions(CLOUDHSM_SERVICE, partition_name=partition)))


def check_region(text: str) -> str:
    """The region name, lower-cased, or RegionError naming the closest known one."""
    name = text.strip().lower()
    known = known_regions()
    if name in known:
        return name
    shown = safe_text(text, SHOWN_LENGTH)
    closest = closest_regions(name, known)
    hint = f" (did you mean {_either(closest)}?)" if closest else ""
    if not REGION_SHAPE.fullmatch(name):
        raise RegionError(f"{shown!r} is not a region name{hint}")
    raise RegionError(f"{shown!r} is not a known AWS region{hint}")


def closest_regions(name: str, known: Iterable[str]) -> tuple[str, ...]:
    """The known names most like `name` (several when equally close, sorted), or none."""
    scored: dict[float, list[str]] = {}
    for region in known:
        score = difflib.SequenceMatcher(None, name, region).ratio()
        if score >= SUGGESTION_CUTOFF:
            scored.setdefault(score, []).append(region)
    return tuple(sorted(scored[max(scored)])[:MAX_SUGGESTIONS]) if scored else ()


def _either(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def check_regions(asked: Iterable[str]) -> tuple[str, ...]:
    """Names (each may be comma-separated) checked, de-duplicated, in order; `all` is kept."""
    regions: list[str] = []
    for entry in asked:
        for part in entry.split(","):
            if not part.strip():
                continue
            name = ALL_REGIONS if part.strip().lower() == ALL_REGIONS else check_region(part)
            if name not in regions:
                regions.append(name)
    return tuple(regions)

"""Checks an ASFF document against botocore's service model for `AwsSecurityFinding`.

moto accepts any finding with a Resources list, so the tests check each document here:
types, required members, unknown members, enums and patterns from the model's shapes, and
the lengths and counts the model writes in each member's documentation ("Length
Constraints: ... Maximum length of 256", "Array Members: ... Maximum number of 32 items",
"up to 50 key-value pairs"). Two limits live only in the ASFF guide: Details.Other (50
keys, keys under 128 and values under 1,024 characters) and RFC 3339 timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

from hsm_backup_audit.engine.changes import ResolvedFinding
from hsm_backup_audit.engine.model import Finding

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
TIMESTAMP_MEMBERS = {"CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt", "ProcessedAt"}


@dataclass(frozen=True)
class Limits:
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    max_key: int | None = None
    max_value: int | None = None


# From the ASFF guide (not in the model): ResourceDetails.Other.
DETAILS_OTHER = Limits(max_items=50, max_key=127, max_value=1023)


@cache
def model() -> Any:
    return botocore.session.get_session().get_service_model("securityhub")


@cache
def finding_shape() -> StructureShape:
    shape: StructureShape = model().shape_for("AwsSecurityFinding")
    return shape


@cache
def _member_limits(text: str) -> Limits:
    return limits_from_documentation(text)


def _number(pattern: str, text: str) -> int | None:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else None


def limits_from_documentation(text: str) -> Limits:
    text = re.sub(r"<[^>]+>", " ", text or "")
    text = re.sub(r"\s+", " ", text)
    exact = _number(r"Length Constraints?: (\d+)\.", text)
    return Limits(
        min_length=_number(r"Minimum (?:length )?of (\d+)(?: length)?", text) or exact,
        max_length=_number(r"Maximum (?:length )?of (\d+)(?: length)?", text) or exact,
        min_items=_number(r"Minimum number of (\d+) items?", text),
        max_items=_number(r"Maximum number of (\d+) items?", text)
        or _number(r"up to (\d+) key-value pairs", text),
        max_key=_number(r"key can contain up to (\d+) characters", text),
        max_value=_number(r"value can contain up to (\d+) characters", text),
    )


def _string(shape: Shape, value: Any, path: str, limits: Limits) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{path}: expected a string, got {type(value).__name__}"
        return
    if shape.enum and value not in shape.enum:
        yield f"{path}: {value!r} is not one of {shape.enum}"
    pattern = shape.metadata.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        yield f"{path}: {value!r} does not match {pattern}"
    low = max(shape.metadata.get("min", 0), limits.min_length or 0)
    high = limits.max_length or shape.metadata.get("max")
    if len(value) < low:
        yield f"{path}: shorter than {low}"
    if high is not None and len(value) > high:
        yield f"{path}: {len(value)} characters, more than {high}"
    if path.rsplit(".", 1)[-1] in TIMESTAMP_MEMBERS and not TIMESTAMP.match(value):
        yield f"{path}: {value!r} is not an RFC 3339 timestamp"


def check(shape: Shape, value: Any, path: str = "$", limits: Limits = Limits()) -> Iterator[str]:
    """Every way `value` breaks `shape` (nothing: it is valid)."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            yield f"{path}: expected an object"
            return
        for name in shape.required_members:
            if name not in value:
                yield f"{path}: required member {name} is missing"
        for name, item in value.items():
            if name not in shape.members:
                yield f"{path}: unknown member {name}"
                continue
            member = shape.members[name]
            inner = _member_limits(member.documentation)
            if path.endswith("Details") and name == "Other":
                inner = DETAILS_OTHER
            yield from check(member, item, f"{path}.{name}", inner)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            yield f"{path}: expected a list"
            return
        if limits.min_items is not None and len(value) < limits.min_items:
            yield f"{path}: fewer than {limits.min_items} items"
        if limits.max_items is not None and len(value) > limits.max_items:
            yield f"{path}: more than {limits.max_items} items"
        for index, item in enumerate(value):
            yield from check(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            yield f"{path}: expected an object"
            return
        if limits.max_items is not None and len(value) > limits.max_items:
            yield f"{path}: more than {limits.max_items} entries"
        for key, item in value.items():
            yield from _string(shape.key, key, f"{path} key {key!r}", Limits(1, limits.max_key))
            yield from check(
                shape.value, item, f"{path}.{key}", Limits(max_length=limits.max_value)
            )
    elif kind == "string":
        yield from _string(shape, value, path, limits)
    elif kind in {"integer", "long"}:
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{path}: expected an integer"
    elif kind in {"double", "float"}:
        if not isinstance(value, int | float) or isinstance(value, bool):
            yield f"{path}: expected a number"
    elif kind == "boolean" and not isinstance(value, bool):
        yield f"{path}: expected true or false"


def asff_problems(document: Any) -> list[str]:
    """What is wrong with one ASFF document, by botocore's AwsSecurityFinding shape."""
    return list(check(finding_shape(), document))


def assert_valid_asff(document: Any) -> None:
    problems = asff_problems(document)
    assert not problems, "\n".join(problems)


def resolved_of(finding: Finding, first_seen: datetime) -> ResolvedFinding:
    """A finding as the run history remembers it once it is resolved."""
    return ResolvedFinding(
        id=finding.id,
        rule=str(finding.rule),
        severity=finding.severity.name,
        account_id=finding.account_id,
        region=finding.region,
        cluster_id=finding.cluster_id,
        backup_id=finding.backup_id,
        first_seen=first_seen,
        message=finding.message,
    )

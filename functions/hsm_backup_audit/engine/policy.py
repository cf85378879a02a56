"""The audit policy: a JSON document validated by pydantic, with errors written for its author."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from ..constants import MAX_POLICY_BYTES, RETENTION_DAYS_MAX, RETENTION_DAYS_MIN, Rule
from .input_file import SHOWN_PATH_LENGTH, InputFileError, read_input_bytes
from .model import safe_text

NonEmptyText = Annotated[str, Field(min_length=1, max_length=512)]
# Strict: `1`, `"yes"` or `"true"` is not a boolean and `true`, `30.0` or `"30"` is not a
# number of days. A value the author did not mean must never be read as one they did.
Flag = Annotated[bool, Field(strict=True)]
Whole = Annotated[int, Field(strict=True)]


def _date_text(value: Any) -> Any:
    """An exemption's date is written YYYY-MM-DD (not a number read as a Unix time)."""
    if isinstance(value, date) or (
        isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)
    ):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")


class PolicyError(ValueError):
    """A policy that cannot be used. Its message is one line that names the key or value."""


class Exemption(BaseModel):
    """Waives some rules for one backup or one cluster, for a reason, until a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backup_id: NonEmptyText | None = None
    cluster_id: NonEmptyText | None = None
    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]
    reason: NonEmptyText
    expires: Annotated[date, BeforeValidator(_date_text)]

    @model_validator(mode="after")
    def _one_target(self) -> Exemption:
        if (self.backup_id is None) == (self.cluster_id is None):
            raise ValueError("give exactly one of backup_id or cluster_id")
        return self

    def covers(self, rule: Rule, backup_id: str | None, cluster_id: str | None) -> bool:
        if rule not in self.rules:
            return False
        if self.backup_id is not None:
            return self.backup_id == backup_id
        return self.cluster_id == cluster_id


class Policy(BaseModel):
    """Every key is optional; the defaults are what a careful operator would pick."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_modes: Annotated[tuple[Literal["FIPS", "NON_FIPS"], ...], Field(min_length=1)] = (
        "FIPS",
    )
    allowed_hsm_types: Annotated[tuple[NonEmptyText, ...], Field(min_length=1)] = ("hsm2m.medium",)
    allow_never_expires: Flag = False
    include_shared: Flag = True
    min_retention_days: Annotated[Whole, Field(ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)] = 30
    max_retention_days: Annotated[Whole, Field(ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)] = (
        RETENTION_DAYS_MAX
    )
    overdue_grace_days: Annotated[Whole, Field(ge=0, le=365)] = 2
    max_copy_age_days: Annotated[Whole, Field(ge=1, le=3650)] = 90
    max_backup_gap_hours: Annotated[Whole, Field(ge=1, le=24 * 365)] = 36
    exemptions: tuple[Exemption, ...] = ()

    @model_validator(mode="after")
    def _retention_range(self) -> Policy:
        if self.min_retention_days > self.max_retention_days:
            raise ValueError(
                f"min_retention_days ({self.min_retention_days}) is greater than "
                f"max_retention_days ({self.max_retention_days})"
            )
        return self


def describe_error(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{location}: unknown key"
    value = error.get("input")
    if error["type"] in {"model_type", "missing"} or isinstance(value, dict | list):
        return f"{location}: {message}" if location else message
    shown = json.dumps(value, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{location}: {message} (got {shown})" if location else f"{message} (got {shown})"


def parse_policy(document: Any, source: str = "policy") -> Policy:
    """Validate an already-decoded JSON document."""
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # A key or value may hold a line break or escape: the message stays one clean line.
        raise PolicyError(safe_text(f"{source}: {describe_error(errors[0])}{more}", 400)) from None


class _Refused(ValueError):
    """Raised from inside the JSON decoder: something JSON allows but a policy must not."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:  # json would keep the last one silently
            raise _Refused(f"the key {json.dumps(key)} appears more than once")
        document[key] = value
    return document


def _no_constant(name: str) -> NoReturn:
    raise _Refused(f"{name} is not a number a policy can hold")


def load_policy(text: str, source: str = "policy") -> Policy:
    """Decode and validate a policy from JSON text. Anything wrong is one PolicyError line."""
    source = safe_text(source, SHOWN_PATH_LENGTH)
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _Refused as exc:
        raise PolicyError(safe_text(f"{source}: {exc}", 400)) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source}: not valid JSON: {exc}") from None
    except RecursionError:
        raise PolicyError(f"{source}: not a policy: arrays or objects nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer (int_max_str_digits)
        raise PolicyError(f"{source}: not a policy: a number with far too many digits") from None
    return parse_policy(document, source)


def read_policy_bytes(path: str | Path) -> bytes:
    """At most MAX_POLICY_BYTES of a regular file: never waits on a pipe, never reads a device."""
    try:
        return read_input_bytes(path, limit=MAX_POLICY_BYTES, what="the policy", noun="a policy")
    except InputFileError as exc:
        raise PolicyError(str(exc)) from None


def load_policy_file(path: str | Path | None) -> Policy:
    """Load a policy file; no path means the documented defaults."""
    if path is None:
        return Policy()
    raw = read_policy_bytes(path)
    shown = safe_text(str(path), SHOWN_PATH_LENGTH)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{shown}: cannot read the policy: not UTF-8 text (byte {exc.start})"
        ) from None
    return load_policy(text, shown)

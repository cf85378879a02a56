"""The audit policy: a JSON document validated by pydantic, with errors written for its author."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from ..constants import RETENTION_DAYS_MAX, RETENTION_DAYS_MIN, Rule
from .model import safe_text

NonEmptyText = Annotated[str, Field(min_length=1, max_length=512)]


class PolicyError(ValueError):
    """A policy that cannot be used. Its message is one line that names the key or value."""


class Exemption(BaseModel):
    """Waives some rules for one backup or one cluster, for a reason, until a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backup_id: NonEmptyText | None = None
    cluster_id: NonEmptyText | None = None
    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]
    reason: NonEmptyText
    expires: date

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
    allow_never_expires: bool = False
    include_shared: bool = True
    min_retention_days: Annotated[int, Field(ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)] = 30
    max_retention_days: Annotated[int, Field(ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)] = (
        RETENTION_DAYS_MAX
    )
    overdue_grace_days: Annotated[int, Field(ge=0, le=365)] = 2
    max_copy_age_days: Annotated[int, Field(ge=1, le=3650)] = 90
    max_backup_gap_hours: Annotated[int, Field(ge=1, le=24 * 365)] = 36
    exemptions: tuple[Exemption, ...] = ()

    @model_validator(mode="after")
    def _retention_range(self) -> Policy:
        if self.min_retention_days > self.max_retention_days:
            raise ValueError(
                f"min_retention_days ({self.min_retention_days}) is greater than "
                f"max_retention_days ({self.max_retention_days})"
            )
        return self


def _describe(error: ErrorDetails) -> str:
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
        raise PolicyError(safe_text(f"{source}: {_describe(errors[0])}{more}", 400)) from None


def load_policy(text: str, source: str = "policy") -> Policy:
    """Decode and validate a policy from JSON text."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source}: not valid JSON: {exc}") from None
    return parse_policy(document, source)


def load_policy_file(path: str | Path | None) -> Policy:
    """Load a policy file; no path means the documented defaults."""
    if path is None:
        return Policy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolicyError(f"{path}: cannot read the policy: {reason}") from None
    return load_policy(text, str(path))

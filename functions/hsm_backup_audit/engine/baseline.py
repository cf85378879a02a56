"""Reading a baseline report back (the `--baseline` file, the stored baseline of the
run history): parsed once with a depth limit, then checked strictly by pydantic, so a
value of the wrong JSON type, a forged or repeated finding id, `schema_version: true`
or a report from the future is refused in one line naming the field. Pure: no AWS.
`changes.not_checked` (findings the baseline's run did not check, carried forward) is
checked as strictly: ids of the recipe, each once (and never also a finding).

What is checked is what the comparison reads; the document itself is handed on as
parsed (other keys are kept, unchecked)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..constants import CLOCK_SKEW_SECONDS, SCHEMA_VERSION
from .input_file import JsonError, parse_json
from .model import FINDING_ID_PATTERN, as_utc, repeated_id, safe_text
from .policy import describe_error

FindingId = Annotated[str, Field(pattern=FINDING_ID_PATTERN)]


class BaselineError(ValueError):
    """A baseline that cannot be used; the message is one line (without the file name)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _Finding(_Model):
    id: FindingId | None = None
    rule: str
    severity: str
    account_id: str
    region: str
    cluster_id: str
    backup_id: str | None = None
    shared: bool = False
    first_seen: str | None = None
    message: str = ""


class _NotChecked(_Finding):
    """A finding the baseline's run did not check, carried forward (engine/changes.py)."""

    id: FindingId
    first_seen: str


class _Changes(_Model):
    not_checked: list[_NotChecked] = Field(default_factory=list)


class _Baseline(_Model):
    schema_version: int
    generated_at: str
    status: str | None = None
    run_id: str | None = None
    findings: list[_Finding]
    changes: _Changes | None = None

    @field_validator("schema_version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"only schema_version {SCHEMA_VERSION} is read")
        return value


def parse_baseline(raw: str | bytes, now: datetime) -> dict[str, Any]:
    """The baseline document in `raw`, checked; BaselineError says what is wrong."""
    try:
        document = parse_json(raw)
    except JsonError as exc:
        raise BaselineError(str(exc)) from None
    return check_baseline(document, now)


def check_baseline(document: Any, now: datetime) -> dict[str, Any]:
    """An already parsed baseline document, checked (returned as it is)."""
    if not isinstance(document, dict):
        raise BaselineError("not a hsm-backup-audit report (a JSON object is expected)")
    try:
        parsed = _Baseline.model_validate(document)
    except ValidationError as exc:
        raise BaselineError(safe_text(describe_error(exc.errors()[0]), 300)) from None
    generated_at = as_utc(parsed.generated_at)
    if generated_at is None:
        raise BaselineError("generated_at: not a time")
    if generated_at > now + timedelta(seconds=CLOCK_SKEW_SECONDS):
        raise BaselineError(
            f"generated_at: {safe_text(parsed.generated_at, 40)} is later than now: "
            "a report from the future is no baseline"
        )
    repeated = repeated_id(finding.id for finding in parsed.findings)
    if repeated is not None:
        raise BaselineError(repeated)
    _check_not_checked(parsed)
    return document


def _check_not_checked(parsed: _Baseline) -> None:
    """`changes.not_checked`: each id once, none also a finding, each first_seen a time."""
    if parsed.changes is None:
        return
    seen = {finding.id for finding in parsed.findings if finding.id is not None}
    for number, entry in enumerate(parsed.changes.not_checked):
        where = f"changes.not_checked.{number}"
        if entry.id in seen:
            raise BaselineError(f"{where}.id: {entry.id} appears more than once")
        seen.add(entry.id)
        if as_utc(entry.first_seen) is None:
            raise BaselineError(f"{where}.first_seen: not a time")

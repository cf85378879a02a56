"""Reading partial reports back: each JSON document checked (pydantic) and turned into
Report parts (Finding, ScanError, Scope) and its PartialInfo. Pure: no AWS here.

Given `now` (the command line's clock; the fan-out's merge step passes the run's own time,
which its batches scanned under), a part dated later than now (beyond CLOCK_SKEW_SECONDS)
is refused, as a baseline from the future is."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..constants import CLOCK_SKEW_SECONDS, SCHEMA_VERSION, Rule, Severity, Status
from .audit import Scope
from .coverage import Coverage, NotRead, home_listing
from .input_file import JsonError, parse_json
from .model import (
    FINDING_ID_PATTERN,
    Finding,
    ScanError,
    as_utc,
    finding_id,
    repeated_id,
    safe_text,
)
from .partial import PARTIAL_KEY, CellData, PartialInfo, SharedView
from .policy import describe_error

SEVERITY = {severity.name: severity for severity in Severity}


class MergeError(ValueError):
    """Input that cannot be merged. The message is one line naming the file."""


class _Model(BaseModel):
    # Strict: a value of another JSON type (`true` for 1, 5 for "5") is refused, never read.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


def _one(value: int) -> int:
    if value != 1:
        raise ValueError("only version 1 is read")
    return value


One = Annotated[int, AfterValidator(_one)]  # strict: `true` is not 1
FindingId = Annotated[str, Field(pattern=FINDING_ID_PATTERN)]


class _Finding(_Model):
    id: FindingId | None = None
    rule: Annotated[Rule, Field(strict=False)]  # the rule's name, as JSON holds it
    severity: Literal["INFO", "LOW", "MEDIUM", "HIGH"]
    account_id: str
    region: str
    cluster_id: str
    backup_id: str | None
    shared: bool
    message: str
    remediation: str
    tags: dict[str, str]
    source_region: str | None = None
    cluster_deleted: bool = False
    last_restore_point: bool = False


class _Error(_Model):
    account_id: str
    region: str
    operation: str
    code: str
    message: str
    listing: Literal["clusters", "owned", "shared"] | None = None


class _Scope(_Model):
    regions: list[str]
    account_id: str
    accounts: list[str]
    include_shared: bool
    policy_source: str
    accounts_skipped: dict[str, str] = {}
    regions_not_enabled: dict[str, list[str]] = {}


class _ReadCell(_Model):
    account_id: str
    region: str
    listing: Literal["clusters", "owned", "shared"]


class _NotRead(_ReadCell):
    error: _Error


class _Place(_Model):
    account_id: str
    region: str


class _Coverage(_Model):
    read: list[_ReadCell]
    not_read: list[_NotRead]
    overlaps: list[_Place] = []


class _Cell(_Model):
    account_id: str
    region: str
    backups_scanned: Annotated[int, Field(ge=0)]
    owned: list[str]


class _SharedView(_Model):
    account_id: str
    region: str
    backup: str
    findings: list[Annotated[int, Field(ge=0)]]


class _Partial(_Model):
    version: One
    policy_sha256: str
    accounts: list[str]
    cells: list[_Cell]
    backup_keys: list[str | None]
    shared_only: list[_SharedView]


class _Document(_Model):
    schema_version: One
    status: Annotated[Status, Field(strict=False)]
    generated_at: str
    scope: _Scope
    findings: list[_Finding]
    errors: list[_Error]
    coverage: _Coverage
    partial: _Partial


@dataclass
class Partial:
    """One partial report, read back."""

    source: str
    generated_at: datetime
    scope: Scope
    findings: list[Finding]
    errors: list[ScanError]
    duration_seconds: float
    info: PartialInfo
    coverage: Coverage
    digest: str = ""  # SHA-256 of the document: a deterministic tie-break between parts


def read_partial_text(text: str | bytes, source: str, now: datetime | None = None) -> Partial:
    """Read one partial report from its JSON text (parsed and checked in one pass by
    pydantic; anything wrong is diagnosed again the slow way, for the message)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    digest = hashlib.sha256(raw).hexdigest()
    try:
        parsed = _Document.model_validate_json(text)
    except ValidationError:
        try:
            document = parse_json(text)  # depth-limited: never a RecursionError
        except JsonError as exc:
            raise MergeError(f"{source}: {exc}") from None
        return read_partial(document, source, now)
    return _read(parsed, source, digest, now)


def read_partial(document: Any, source: str, now: datetime | None = None) -> Partial:
    """Check one parsed JSON document and read it; MergeError says what is wrong."""
    if not isinstance(document, dict):
        raise MergeError(f"{source}: not a report (a JSON object is expected)")
    version = document.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise MergeError(f"{source}: not a schema_version {SCHEMA_VERSION} report")
    if PARTIAL_KEY not in document:
        raise MergeError(
            f"{source}: a report, but not a partial one (make it with --format partial)"
        )
    try:
        parsed = _Document.model_validate(document)
    except ValidationError as exc:
        said = safe_text(describe_error(exc.errors()[0]), 300)
        raise MergeError(f"{source}: not a partial report: {said}") from None
    canonical = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return _read(parsed, source, digest, now)


def _coverage(parsed: _Document) -> Coverage:
    return Coverage(
        read=frozenset((c.account_id, c.region, c.listing) for c in parsed.coverage.read),
        not_read=tuple(
            NotRead(c.account_id, c.region, c.listing, ScanError(**c.error.model_dump()))
            for c in parsed.coverage.not_read
        ),
        overlaps=tuple((c.account_id, c.region) for c in parsed.coverage.overlaps),
    )


def _check(parsed: _Document, coverage: Coverage, source: str) -> None:
    """A part is what it says: INCOMPLETE exactly when it has an error entry, and every
    finding in a cell it read or names as not read (with the error that says why)."""
    if (parsed.status == Status.INCOMPLETE) != bool(parsed.errors):
        said = "INCOMPLETE without an error entry" if not parsed.errors else parsed.status
        raise MergeError(f"{source}: refused: status {said} (errors: {len(parsed.errors)})")
    named = set(coverage.read) | {(c.account_id, c.region, c.listing) for c in coverage.not_read}
    for finding in parsed.findings:
        cell = (
            finding.account_id,
            finding.region,
            home_listing(finding.rule, finding.shared, finding.backup_id),
        )
        if cell not in named:
            raise MergeError(
                f"{source}: refused: finding {safe_text(finding.id, 40) or '(no id)'} lies in "
                f"{'/'.join(safe_text(part, 40) for part in cell)}, a cell the part did not read"
            )


def _read(parsed: _Document, source: str, digest: str, now: datetime | None) -> Partial:
    generated_at = as_utc(parsed.generated_at.removesuffix("Z") + "+00:00")
    if generated_at is None:
        raise MergeError(f"{source}: generated_at is not a time")
    if now is not None and generated_at > now + timedelta(seconds=CLOCK_SKEW_SECONDS):
        raise MergeError(
            f"{source}: refused: generated_at {safe_text(parsed.generated_at, 40)} is later "
            "than now: a partial report from the future"
        )
    coverage = _coverage(parsed)
    _check(parsed, coverage, source)
    if len(parsed.partial.backup_keys) != len(parsed.findings):
        raise MergeError(f"{source}: not a partial report: one backup key per finding expected")
    repeated = repeated_id(finding.id for finding in parsed.findings)
    if repeated is not None:
        raise MergeError(f"{source}: {repeated}")
    local: dict[str, int] = {}
    findings = [
        _finding(f, _backup_key(key, local))
        for f, key in zip(parsed.findings, parsed.partial.backup_keys, strict=True)
    ]
    return Partial(
        source=source,
        generated_at=generated_at,
        scope=Scope(
            regions=tuple(parsed.scope.regions),
            account_id=parsed.scope.account_id,
            accounts=tuple(parsed.scope.accounts),
            include_shared=parsed.scope.include_shared,
            policy_source=parsed.scope.policy_source,
            accounts_skipped=tuple(sorted(parsed.scope.accounts_skipped.items())),
            regions_not_enabled=tuple(
                (account, tuple(names))
                for account, names in parsed.scope.regions_not_enabled.items()
            ),
        ),
        findings=findings,
        errors=[ScanError(**e.model_dump()) for e in parsed.errors],
        duration_seconds=0.0,
        info=_info(parsed.partial, findings, source),
        coverage=coverage,
        digest=digest,
    )


@dataclass(slots=True)
class ReadFinding(Finding):
    """A finding read back from a report: its id is the one the report gave."""

    stored_id: str = ""

    @property
    def id(self) -> str:
        return self.stored_id or finding_id(
            self.rule, self.account_id, self.region, self.cluster_id, self.backup_id
        )


_NAMELESS = itertools.count(1)  # backups with no identity: never the same across partials


def _backup_key(text: str | None, local: dict[str, int]) -> int | None:
    if text is None:
        return None
    if text.startswith("~"):
        return local.setdefault(text, -next(_NAMELESS))
    try:
        return int(text, 16)
    except ValueError:
        raise MergeError(f"not a backup key: {text[:40]!r}") from None


def _finding(doc: _Finding, backup_key: int | None) -> Finding:
    return ReadFinding(
        rule=doc.rule,
        severity=SEVERITY[doc.severity],
        account_id=doc.account_id,
        region=doc.region,
        cluster_id=doc.cluster_id,
        backup_id=doc.backup_id,
        shared=doc.shared,
        message=doc.message,
        remediation=doc.remediation,
        tags=tuple(doc.tags.items()),
        backup_key=backup_key,
        last_restore_point=doc.last_restore_point,
        stored_id=doc.id or "",
        source_region=doc.source_region,
        cluster_deleted=doc.cluster_deleted,
    )


def _info(partial: _Partial, findings: list[Finding], source: str) -> PartialInfo:
    cells = {
        (c.account_id, c.region): CellData(c.backups_scanned, list(c.owned)) for c in partial.cells
    }
    views: list[SharedView] = []
    for view in partial.shared_only:
        if any(number >= len(findings) for number in view.findings):
            raise MergeError(f"{source}: not a partial report: a shared view names no finding")
        views.append(
            SharedView(
                view.account_id,
                view.region,
                view.backup,
                [findings[number] for number in view.findings],
            )
        )
    return PartialInfo(partial.policy_sha256, tuple(partial.accounts), cells, views)

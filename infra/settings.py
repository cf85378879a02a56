"""The app's settings, read from CDK context and checked before any construct is built.

A bad value stops `cdk synth` with one line that names the context key; a bad policy
stops it with the same line the command line prints (PolicyError).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from constructs import Node

from hsm_backup_audit.constants import (
    NOTIFY_CHANGES,
    NOTIFY_CHOICES,
    ORGANIZATIONAL_UNIT_PATTERN,
    ROLE_NAME_PATTERN,
    WEEKDAYS,
)
from hsm_backup_audit.engine.policy import PolicyError, load_policy_file
from hsm_backup_audit.regions import ALL_REGIONS, RegionError, check_regions

from . import constants as c
from .schedule_gap import ScheduleGapError, longest_gap_hours

EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
ORGANIZATION_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
SCHEDULE_PATTERN = re.compile(r"^(cron|rate|at)\(.+\)$")
UNIT_PATTERN = re.compile(ORGANIZATIONAL_UNIT_PATTERN)
# A StackSet targets organizational units, or the root (r-...) for the whole organization.
TARGET_PATTERN = re.compile(rf"{ORGANIZATIONAL_UNIT_PATTERN}|^r-[0-9a-z]{{4,32}}$")


class SettingsError(ValueError):
    """A context value the app cannot use. Its message is one line naming the key."""


@dataclass(frozen=True)
class Settings:
    notification_emails: tuple[str, ...]
    schedule: str
    schedule_timezone: str
    regions: tuple[str, ...]  # empty: the stack's own region; ("all",): every region
    policy_file: Path
    notify: str
    weekly_digest_day: str
    report_bucket: bool
    report_expiration_days: int
    report_object_lock_days: int | None  # None: no Object Lock (docs/evidence.md)
    log_retention_days: int
    max_workers: int | None
    member_accounts: tuple[str, ...]
    member_role_name: str
    organization_id: str | None
    member_external_id: str | None
    audit_account_id: str | None
    powertools_layer_version: int
    reserved_concurrency: bool
    missed_run_alarm_hours: int | None  # None: the schedule has no steady gap to alarm on
    organization: bool = False
    organizational_units: tuple[str, ...] = ()
    # The member-role StackSet: off, or where it deploys and as whom.
    member_role_stack_set: bool = False
    stack_set_targets: tuple[str, ...] = ()
    stack_set_call_as: str = "SELF"
    security_hub: bool = False
    # The Step Functions fan-out: organization=true, or fanOut=true (memberAccounts).
    fan_out: bool = False
    auto_fix: str | None = None  # "never-expires": the scheduled run sets NeverExpires back


def _raw(node: Node, key: str) -> Any:
    value = node.try_get_context(key)
    return c.CONTEXT_DEFAULTS[key] if value is None else value


def _text(node: Node, key: str) -> str:
    value = _raw(node, key)
    if isinstance(value, list):  # cdk.json may hold a JSON list
        return ",".join(str(item) for item in value)
    return str(value).strip()


def _items(node: Node, key: str, pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in _text(node, key).split(",") if part.strip())
    for item in items:
        if not pattern.fullmatch(item):
            raise SettingsError(f"{key}: {item!r} is not {expected}")
    return tuple(dict.fromkeys(items))


def _auto_fix(node: Node) -> str | None:
    value = _text(node, c.CTX_AUTO_FIX)
    if value not in ("never", "never-expires"):
        raise SettingsError(f"{c.CTX_AUTO_FIX}: expected never or never-expires (got {value!r})")
    return None if value == "never" else value


def _flag(node: Node, key: str) -> bool:
    value = _raw(node, key)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in {"true", "false"}:
        raise SettingsError(f"{key}: expected true or false (got {value!r})")
    return text == "true"


def _number(node: Node, key: str, low: int, high: int) -> int:
    value = _raw(node, key)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"{key}: expected a whole number (got {value!r})") from None
    if not low <= number <= high:
        raise SettingsError(f"{key}: expected {low} to {high} (got {number})")
    return number


def _optional(node: Node, key: str, pattern: re.Pattern[str], expected: str) -> str | None:
    text = _text(node, key)
    if text and not pattern.fullmatch(text):
        raise SettingsError(f"{key}: expected {expected}")  # the value is not echoed
    return text or None


def _regions(node: Node) -> tuple[str, ...]:
    """Checked as the command line and the function check them (botocore's region data)."""
    try:
        regions = check_regions([_text(node, c.CTX_REGIONS)])
    except RegionError as exc:
        raise SettingsError(f"{c.CTX_REGIONS}: {exc}") from None
    if ALL_REGIONS in regions and len(regions) > 1:
        raise SettingsError(f"{c.CTX_REGIONS}: {ALL_REGIONS!r} cannot be combined with regions")
    return regions


def _schedule(node: Node) -> tuple[str, str]:
    schedule = _text(node, c.CTX_SCHEDULE)
    if not SCHEDULE_PATTERN.fullmatch(schedule):
        raise SettingsError(
            f"{c.CTX_SCHEDULE}: expected cron(...), rate(...) or at(...) (got {schedule!r})"
        )
    zone = _text(node, c.CTX_SCHEDULE_TIMEZONE)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{c.CTX_SCHEDULE_TIMEZONE}: {zone!r} is not an IANA time zone"
        ) from None
    return schedule, zone


def _missed_run_alarm_hours(node: Node, schedule: str) -> int | None:
    """Given, or the schedule's longest gap plus slack; None when that exceeds what one
    CloudWatch alarm can evaluate (7 days), or the schedule runs once."""
    if _text(node, c.CTX_MISSED_RUN_ALARM_HOURS):
        return _number(node, c.CTX_MISSED_RUN_ALARM_HOURS, 1, c.MISSED_RUN_MAX_HOURS)
    try:
        gap = longest_gap_hours(schedule)
    except ScheduleGapError as exc:
        raise SettingsError(
            f"{c.CTX_SCHEDULE}: {exc} (or set {c.CTX_MISSED_RUN_ALARM_HOURS})"
        ) from None
    if gap is None:
        return None
    hours = math.ceil(gap) + c.MISSED_RUN_SLACK_HOURS
    return hours if hours <= c.MISSED_RUN_MAX_HOURS else None


def _refuse_replaced_keys(node: Node) -> None:
    for key, replacement in c.CTX_REPLACED.items():
        if node.try_get_context(key) not in (None, ""):
            raise SettingsError(f"{key} was replaced by {replacement}: see docs/deploy.md")


def _policy_file(node: Node) -> Path:
    """The policy, validated now. Its errors name the file as it was given, as the CLI does."""
    given = _text(node, c.CTX_POLICY_FILE)
    path = Path(given) if Path(given).is_absolute() else c.ROOT / given
    try:
        load_policy_file(path)
    except PolicyError as exc:
        raise PolicyError(f"{given}{str(exc).removeprefix(str(path))}") from None
    return path


def _log_retention(node: Node) -> int:
    days = _number(node, c.CTX_LOG_RETENTION_DAYS, 1, 3653)
    if days not in c.LOG_RETENTION_NAMES:
        allowed = ", ".join(str(d) for d in c.LOG_RETENTION_NAMES)
        raise SettingsError(f"{c.CTX_LOG_RETENTION_DAYS}: expected one of {allowed} (got {days})")
    return days


def _notify(node: Node) -> str:
    notify = _text(node, c.CTX_NOTIFY)
    if notify not in NOTIFY_CHOICES:
        raise SettingsError(
            f"{c.CTX_NOTIFY}: expected {', '.join(NOTIFY_CHOICES)} (got {notify!r})"
        )
    if notify == NOTIFY_CHANGES and not _flag(node, c.CTX_REPORT_BUCKET):
        raise SettingsError(
            f"{c.CTX_NOTIFY}: {NOTIFY_CHANGES} needs {c.CTX_REPORT_BUCKET}=true (the run history)"
        )
    return notify


def _weekday(node: Node) -> str:
    day = _text(node, c.CTX_WEEKLY_DIGEST_DAY).lower()
    if day not in WEEKDAYS:
        raise SettingsError(
            f"{c.CTX_WEEKLY_DIGEST_DAY}: expected a day of the week, e.g. monday (got {day!r})"
        )
    return day


def _member_role_name(node: Node) -> str:
    name = _text(node, c.CTX_MEMBER_ROLE_NAME)
    if not re.fullmatch(ROLE_NAME_PATTERN, name):
        raise SettingsError(f"{c.CTX_MEMBER_ROLE_NAME}: {name!r} is not an IAM role name")
    return name


def _stack_set(node: Node, units: tuple[str, ...]) -> tuple[bool, tuple[str, ...], str]:
    """(enabled, deployment targets, CallAs). Targets default to the audited units."""
    enabled = _flag(node, c.CTX_MEMBER_ROLE_STACK_SET)
    targets = _items(
        node, c.CTX_STACK_SET_TARGETS, TARGET_PATTERN, "a root id (r-...) or a unit id (ou-...)"
    )
    call_as = _text(node, c.CTX_STACK_SET_CALL_AS).upper()
    if call_as not in c.STACK_SET_CALL_AS:
        raise SettingsError(
            f"{c.CTX_STACK_SET_CALL_AS}: expected SELF or DELEGATED_ADMIN (got {call_as!r})"
        )
    targets = targets or units
    if enabled and not targets:
        raise SettingsError(
            f"{c.CTX_MEMBER_ROLE_STACK_SET} needs {c.CTX_STACK_SET_TARGETS}: the organization's "
            f"root id (r-...) for every account, or unit ids (ou-...)"
        )
    return enabled, targets, call_as


def read_settings(node: Node) -> Settings:
    """Every context key checked, with the defaults in infra/constants.py."""
    _refuse_replaced_keys(node)
    schedule, zone = _schedule(node)
    workers = _text(node, c.CTX_MAX_WORKERS)
    organization = _flag(node, c.CTX_ORGANIZATION)
    units = _items(node, c.CTX_ORGANIZATIONAL_UNITS, UNIT_PATTERN, "an organizational unit id")
    if units and not organization:
        raise SettingsError(f"{c.CTX_ORGANIZATIONAL_UNITS} needs {c.CTX_ORGANIZATION}=true")
    stack_set, targets, call_as = _stack_set(node, units)
    if stack_set and not _text(node, c.CTX_AUDIT_ACCOUNT_ID):
        raise SettingsError(
            f"{c.CTX_MEMBER_ROLE_STACK_SET} needs {c.CTX_AUDIT_ACCOUNT_ID}: the account the "
            "audit stack runs in, which every member role will trust"
        )
    if organization and _text(node, c.CTX_MEMBER_ACCOUNTS):
        raise SettingsError(
            f"{c.CTX_MEMBER_ACCOUNTS} and {c.CTX_ORGANIZATION}=true are two ways to name the "
            "members: use one (the organization lists its accounts itself)"
        )
    expiration = _number(node, c.CTX_REPORT_EXPIRATION_DAYS, c.REPORT_GLACIER_AFTER_DAYS + 1, 36500)
    return Settings(
        notification_emails=_items(
            node, c.CTX_NOTIFICATION_EMAILS, EMAIL_PATTERN, "an email address"
        ),
        schedule=schedule,
        schedule_timezone=zone,
        regions=_regions(node),
        policy_file=_policy_file(node),
        notify=_notify(node),
        weekly_digest_day=_weekday(node),
        report_bucket=_flag(node, c.CTX_REPORT_BUCKET),
        report_expiration_days=expiration,
        # Compliance-mode retention no longer than the bucket keeps anything.
        report_object_lock_days=(
            _number(node, c.CTX_REPORT_OBJECT_LOCK_DAYS, 1, expiration)
            if _text(node, c.CTX_REPORT_OBJECT_LOCK_DAYS)
            else None
        ),
        log_retention_days=_log_retention(node),
        max_workers=_number(node, c.CTX_MAX_WORKERS, 1, 256) if workers else None,
        member_accounts=_items(
            node, c.CTX_MEMBER_ACCOUNTS, ACCOUNT_PATTERN, "a 12-digit AWS account id"
        ),
        member_role_name=_member_role_name(node),
        organization_id=_optional(
            node, c.CTX_ORGANIZATION_ID, ORGANIZATION_ID_PATTERN, "an organization id, o-..."
        ),
        member_external_id=_optional(
            node,
            c.CTX_MEMBER_EXTERNAL_ID,
            EXTERNAL_ID_PATTERN,
            "2 to 1224 characters of letters, digits and +=,.@:/-",
        ),
        audit_account_id=_optional(
            node, c.CTX_AUDIT_ACCOUNT_ID, ACCOUNT_PATTERN, "a 12-digit AWS account id"
        ),
        powertools_layer_version=_number(node, c.CTX_POWERTOOLS_LAYER_VERSION, 1, 10000),
        reserved_concurrency=_flag(node, c.CTX_RESERVED_CONCURRENCY),
        missed_run_alarm_hours=_missed_run_alarm_hours(node, schedule),
        organization=organization,
        organizational_units=units,
        member_role_stack_set=stack_set,
        stack_set_targets=targets,
        stack_set_call_as=call_as,
        security_hub=_flag(node, c.CTX_SECURITY_HUB),
        fan_out=organization or _flag(node, c.CTX_FAN_OUT),
        auto_fix=_auto_fix(node),
    )

"""The Lambda function's configuration: its environment, validated once per cold start.

The policy is a JSON file shipped in the deployment package (the CDK stack copies the
validated policy in as `policy.json` and sets POLICY_FILE): no 4 KB environment limit,
versioned and deployed with the code, and no extra API call or permission at run time.
The member accounts ship the same way (MEMBER_ACCOUNTS_FILE, a JSON list of account ids),
with one role name assumed in each (MEMBER_ROLE_NAME).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from .constants import (
    DEFAULT_MAX_WORKERS,
    DEFAULT_MEMBER_ROLE_NAME,
    DEFAULT_WEEKLY_DIGEST_DAY,
    ENV_AUTO_FIX,
    ENV_EXTERNAL_ID,
    ENV_MAX_WORKERS,
    ENV_MEMBER_ACCOUNTS_FILE,
    ENV_MEMBER_ROLE_ARNS,
    ENV_MEMBER_ROLE_NAME,
    ENV_NOTIFY,
    ENV_ORGANIZATION,
    ENV_ORGANIZATIONAL_UNITS,
    ENV_POLICY_FILE,
    ENV_REGIONS,
    ENV_REPORT_BUCKET,
    ENV_SECURITY_HUB,
    ENV_TOPIC_ARN,
    ENV_WEEKLY_DIGEST_DAY,
    EXTERNAL_ID_PATTERN,
    NOTIFY_CHANGES,
    NOTIFY_FINDINGS,
    ORGANIZATIONAL_UNIT_PATTERN,
    ROLE_ARN_PATTERN,
    ROLE_NAME_PATTERN,
)
from .engine.policy import Policy, PolicyError, load_policy_file
from .observability import logger
from .regions import RegionError, check_region, check_regions

ENV_AWS_REGION = "AWS_REGION"
ENV_TASK_ROOT = "LAMBDA_TASK_ROOT"
# Not echoed in an error message: an external id is an identifier (it is in the template),
# but a wrong one is best not repeated in logs the member accounts' owners may not see.
UNECHOED_KEYS = frozenset({ENV_EXTERNAL_ID})

TOPIC_ARN_PATTERN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")


class ConfigurationError(ValueError):
    """The function cannot run as configured. Its message is one line naming the variable."""


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
RoleArn = Annotated[str, Field(pattern=ROLE_ARN_PATTERN)]
OrganizationalUnit = Annotated[str, Field(pattern=ORGANIZATIONAL_UNIT_PATTERN)]


class Environment(BaseModel):
    """The environment variables the function reads (the names are in constants.py)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    topic_arn: Annotated[str, Field(alias=ENV_TOPIC_ARN, pattern=TOPIC_ARN_PATTERN)]
    regions: Annotated[CommaList, Field(alias=ENV_REGIONS)] = ()
    aws_region: Annotated[str | None, Field(alias=ENV_AWS_REGION)] = None
    policy_file: Annotated[
        str | None, Field(alias=ENV_POLICY_FILE), BeforeValidator(_blank_is_none)
    ] = None
    notify: Annotated[
        Literal["always", "findings", "changes"],
        Field(alias=ENV_NOTIFY),
        BeforeValidator(_blank_is_none),
    ] = "always"
    weekly_digest_day: Annotated[
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
        Field(alias=ENV_WEEKLY_DIGEST_DAY),
        BeforeValidator(_blank_is_none),
        BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    ] = DEFAULT_WEEKLY_DIGEST_DAY
    report_bucket: Annotated[
        str | None,
        Field(alias=ENV_REPORT_BUCKET, pattern=BUCKET_PATTERN),
        BeforeValidator(_blank_is_none),
    ] = None
    member_role_arns: Annotated[
        tuple[RoleArn, ...], Field(alias=ENV_MEMBER_ROLE_ARNS), BeforeValidator(_comma_list)
    ] = ()
    member_accounts_file: Annotated[
        str | None, Field(alias=ENV_MEMBER_ACCOUNTS_FILE), BeforeValidator(_blank_is_none)
    ] = None
    external_id: Annotated[
        str | None,
        Field(alias=ENV_EXTERNAL_ID, min_length=2, max_length=1224, pattern=EXTERNAL_ID_PATTERN),
        BeforeValidator(_blank_is_none),
    ] = None
    max_workers: Annotated[
        int, Field(alias=ENV_MAX_WORKERS, ge=1, le=256), BeforeValidator(_blank_is_none)
    ] = DEFAULT_MAX_WORKERS
    organization: Annotated[
        bool, Field(alias=ENV_ORGANIZATION, strict=False), BeforeValidator(_blank_is_none)
    ] = False
    member_role_name: Annotated[
        str | None,
        Field(alias=ENV_MEMBER_ROLE_NAME, pattern=ROLE_NAME_PATTERN),
        BeforeValidator(_blank_is_none),
    ] = None
    organizational_units: Annotated[
        tuple[OrganizationalUnit, ...],
        Field(alias=ENV_ORGANIZATIONAL_UNITS),
        BeforeValidator(_comma_list),
    ] = ()
    security_hub: Annotated[
        Literal["true", "false"],
        Field(alias=ENV_SECURITY_HUB),
        BeforeValidator(lambda v: (v.strip().lower() or "false") if isinstance(v, str) else v),
    ] = "false"
    auto_fix: Annotated[
        Literal["never-expires"] | None, Field(alias=ENV_AUTO_FIX), BeforeValidator(_blank_is_none)
    ] = None


@dataclass(frozen=True)
class Configuration:
    """Everything one run needs, resolved: regions expanded, the policy loaded."""

    topic_arn: str
    regions: tuple[str, ...]
    policy: Policy
    policy_source: str
    notify: str
    report_bucket: str | None
    member_role_arns: tuple[str, ...]
    external_id: str | None
    max_workers: int
    weekly_digest_day: str = DEFAULT_WEEKLY_DIGEST_DAY
    organization: bool = False
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    organizational_units: tuple[str, ...] = ()
    security_hub: bool = False  # import findings into Security Hub (opt-in)
    auto_fix: str | None = None  # "never-expires": set NeverExpires back after the audit

    @property
    def notify_only_findings(self) -> bool:
        return self.notify == NOTIFY_FINDINGS

    @property
    def notify_only_changes(self) -> bool:
        return self.notify == NOTIFY_CHANGES


EXPECTED = {
    ENV_TOPIC_ARN: "an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME",
    ENV_MEMBER_ROLE_ARNS: "comma-separated IAM role ARNs, arn:aws:iam::ACCOUNT:role/NAME",
    ENV_REPORT_BUCKET: "an S3 bucket name",
    ENV_EXTERNAL_ID: "2 to 1224 characters of letters, digits and +=,.@:/-",
    ENV_MEMBER_ROLE_NAME: "an IAM role name (letters, digits and _+=,.@-, up to 64)",
    ENV_ORGANIZATIONAL_UNITS: "comma-separated organizational unit ids, ou-xxxx-xxxxxxxx",
    ENV_SECURITY_HUB: "true or false",
    ENV_AUTO_FIX: "never-expires, or unset",
}


def _describe(error: ErrorDetails) -> str:
    key = str(error["loc"][0]) if error["loc"] else "environment"
    if error["type"] == "missing":
        return f"{key} is required"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in {"string_pattern_mismatch", "string_too_short", "string_too_long"}:
        message = f"expected {EXPECTED.get(key, message)}"
    value = error.get("input")
    if key in UNECHOED_KEYS or not isinstance(value, str | int):
        return f"{key}: {message}"
    shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
    return f"{key}: {message} (got {shown!r})"


def _resolve_regions(asked: tuple[str, ...], own_region: str | None) -> tuple[str, ...]:
    """The checked region names; `all` is kept, for the scan to ask each account."""
    try:
        regions = check_regions(asked)
    except RegionError as exc:
        raise ConfigurationError(f"{ENV_REGIONS}: {exc}") from None
    if not regions:
        if not own_region:
            raise ConfigurationError(f"{ENV_REGIONS} is empty and {ENV_AWS_REGION} is not set")
        try:
            regions = (check_region(own_region),)
        except RegionError as exc:
            raise ConfigurationError(f"{ENV_AWS_REGION}: {exc}") from None
    return regions


def _check_topic_region(topic_arn: str) -> None:
    """The topic's region is where the digest is published: a name that is no region
    would only fail after the whole scan, with nothing delivered."""
    try:
        check_region(topic_arn.split(":")[3])
    except RegionError as exc:
        raise ConfigurationError(f"{ENV_TOPIC_ARN}: the topic's region: {exc}") from None


def _policy_path(policy_file: str, environ: Mapping[str, str]) -> Path:
    path = Path(policy_file)
    if path.is_absolute():
        return path
    return Path(environ.get(ENV_TASK_ROOT) or os.getcwd()) / path


def _member_role_arns(env: Environment, environ: Mapping[str, str]) -> tuple[str, ...]:
    """MEMBER_ROLE_ARNS, then MEMBER_ROLE_NAME in each account of MEMBER_ACCOUNTS_FILE (in
    the topic's partition: the function, its topic and the members share one)."""
    arns = list(env.member_role_arns)
    if env.member_accounts_file:
        if not env.member_role_name:
            raise ConfigurationError(
                f"{ENV_MEMBER_ROLE_NAME} is required with {ENV_MEMBER_ACCOUNTS_FILE}"
            )
        partition = env.topic_arn.split(":")[1]
        for account in _member_accounts(_policy_path(env.member_accounts_file, environ)):
            arns.append(f"arn:{partition}:iam::{account}:role/{env.member_role_name}")
    return tuple(dict.fromkeys(arns))


def _member_accounts(path: Path) -> list[str]:
    try:
        accounts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{ENV_MEMBER_ACCOUNTS_FILE}: cannot read {path}: {exc}") from None
    if not isinstance(accounts, list) or not all(
        isinstance(a, str) and ACCOUNT_PATTERN.fullmatch(a) for a in accounts
    ):
        raise ConfigurationError(
            f"{ENV_MEMBER_ACCOUNTS_FILE}: {path} is not a JSON list of 12-digit account ids"
        )
    return accounts


def load_configuration(environ: Mapping[str, str]) -> Configuration:
    """Validate the environment and load the policy; ConfigurationError says what is wrong."""
    try:
        env = Environment.model_validate(dict(environ))
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigurationError(_describe(errors[0]) + more) from None
    _check_topic_region(env.topic_arn)
    if env.notify == NOTIFY_CHANGES and not env.report_bucket:
        raise ConfigurationError(
            f"{ENV_NOTIFY}: {NOTIFY_CHANGES} needs {ENV_REPORT_BUCKET} (the run history)"
        )
    if not env.organization and env.organizational_units:
        raise ConfigurationError(f"{ENV_ORGANIZATIONAL_UNITS} needs {ENV_ORGANIZATION}=true")
    if not (env.organization or env.member_accounts_file) and env.member_role_name:
        raise ConfigurationError(
            f"{ENV_MEMBER_ROLE_NAME} needs {ENV_ORGANIZATION}=true or {ENV_MEMBER_ACCOUNTS_FILE}"
        )
    policy = Policy()
    policy_source = "defaults"
    if env.policy_file:
        path = _policy_path(env.policy_file, environ)
        try:
            policy = load_policy_file(path)
        except PolicyError as exc:
            raise ConfigurationError(f"{ENV_POLICY_FILE}: {exc}") from None
        policy_source = env.policy_file
    return Configuration(
        topic_arn=env.topic_arn,
        regions=_resolve_regions(env.regions, env.aws_region),
        policy=policy,
        policy_source=policy_source,
        notify=env.notify,
        report_bucket=env.report_bucket,
        member_role_arns=_member_role_arns(env, environ),
        external_id=env.external_id,
        max_workers=env.max_workers,
        weekly_digest_day=env.weekly_digest_day,
        organization=env.organization,
        member_role_name=env.member_role_name or DEFAULT_MEMBER_ROLE_NAME,
        organizational_units=env.organizational_units,
        security_hub=env.security_hub == "true",
        auto_fix=env.auto_fix,
    )


@functools.cache
def configuration() -> Configuration:
    """The configuration of this execution environment (a failure is not cached)."""
    return load_configuration(os.environ)


Handler = TypeVar("Handler", bound=Callable[..., Any])


def validated_configuration(handler: Handler) -> Handler:
    """Fail the invocation at once, with one clear log line, when the configuration is bad."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        try:
            configuration()
        except ConfigurationError as exc:
            logger.error(f"configuration error: {exc}")
            raise
        return handler(event, context)

    return wrapper  # type: ignore[return-value]

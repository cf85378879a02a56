"""Synth-time checks that the template fits AWS's size limits, so a deploy cannot fail on them.

Each limit is in constants.py with its source: a role's inline policies together, a managed
policy, the Lambda environment, a KMS key policy. Values only known at deploy (references,
joins) are counted at a generous length, so the check errs on the side of refusing.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from hsm_backup_audit.regions import ALL_REGIONS, cloudhsm_regions

from . import constants as c
from .function import AuditFunction
from .settings import Settings, SettingsError

# Lengths counted for values that CloudFormation fills in at deploy.
PSEUDO_LENGTHS = {
    "AWS::Partition": 10,
    "AWS::Region": 14,
    "AWS::AccountId": 12,
    "AWS::URLSuffix": 16,
}
REFERENCE_LENGTH = 128  # an ARN, a name or an id
ADVICE = (
    f"list fewer {c.CTX_MEMBER_ACCOUNTS}, or set {c.CTX_ORGANIZATION_ID} to scope the grant "
    "to the organization instead of an account list"
)


def rendered(value: Any) -> Any:
    """`value` with every intrinsic function replaced by a string of its longest likely length."""
    if isinstance(value, list):
        return [rendered(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value and len(value) == 1:
        return "x" * PSEUDO_LENGTHS.get(value["Ref"], REFERENCE_LENGTH)
    if "Fn::Join" in value and len(value) == 1:
        separator, parts = value["Fn::Join"]
        return separator.join(str(rendered(part)) for part in parts)
    if len(value) == 1 and next(iter(value)).startswith("Fn::"):
        return "x" * REFERENCE_LENGTH
    return {key: rendered(item) for key, item in value.items()}


def policy_characters(document: Any) -> int:
    """Characters IAM counts: the policy's JSON without whitespace."""
    text = json.dumps(rendered(document), separators=(",", ":"))
    return sum(1 for char in text if not char.isspace())


def environment_bytes(variables: dict[str, Any]) -> int:
    return sum(
        len(key.encode()) + len(str(rendered(value)).encode()) for key, value in variables.items()
    )


def measure(stack: Stack) -> dict[str, int]:
    """{what: size} for every limited document of the stack, e.g. "role Role1234 inline"."""
    sizes: dict[str, int] = defaultdict(int)
    for construct in stack.node.find_all():
        if isinstance(construct, iam.CfnPolicy):
            size = policy_characters(stack.resolve(construct.policy_document))
            for role in stack.resolve(construct.roles) or []:
                sizes[f"role {role.get('Ref', role)} inline policies"] += size
        elif isinstance(construct, iam.CfnManagedPolicy):
            sizes[f"managed policy {construct.node.path}"] = policy_characters(
                stack.resolve(construct.policy_document)
            )
        elif isinstance(construct, AuditFunction):
            variables = stack.resolve(construct.environment)
            sizes[f"function {construct.node.path} environment"] = environment_bytes(variables)
        elif isinstance(construct, kms.CfnKey):
            sizes[f"key {construct.node.path} policy"] = len(
                json.dumps(rendered(stack.resolve(construct.key_policy)), separators=(",", ":"))
            )
    return dict(sizes)


def limit_of(what: str) -> int:
    if what.endswith("inline policies"):
        return c.ROLE_INLINE_POLICIES_MAX_CHARS
    if what.startswith("managed policy"):
        return c.MANAGED_POLICY_MAX_CHARS
    if what.endswith("environment"):
        return c.LAMBDA_ENVIRONMENT_MAX_BYTES
    return c.KMS_KEY_POLICY_MAX_BYTES


def check_limits(stack: Stack) -> None:
    """Raises SettingsError, one line, naming the first document over its limit."""
    for what, size in measure(stack).items():
        if size > limit_of(what):
            raise SettingsError(
                f"{what} would be {size:,} characters, over AWS's limit of "
                f"{limit_of(what):,}: {ADVICE}"
            )


def asset_sizes(folder: Path) -> tuple[int, int]:
    """(bytes extracted, bytes zipped) of the function's asset folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder))
    return sum(p.stat().st_size for p in files), buffer.tell()


def check_asset_size(folder: Path) -> None:
    """Raises SettingsError when the asset, with a generous allowance for the Powertools
    layer, would exceed Lambda's package quotas."""
    extracted, zipped = asset_sizes(folder)
    with_layer = extracted + c.POWERTOOLS_LAYER_ALLOWANCE_BYTES
    if zipped > c.LAMBDA_ZIPPED_MAX_BYTES or with_layer > c.LAMBDA_UNZIPPED_MAX_BYTES:
        raise SettingsError(
            f"the function's code would be {zipped:,} bytes zipped and {with_layer:,} "
            f"extracted with the layer, over Lambda's {c.LAMBDA_ZIPPED_MAX_BYTES:,} and "
            f"{c.LAMBDA_UNZIPPED_MAX_BYTES:,}"
        )


def one_lambda_seconds(settings: Settings) -> int:
    """The reading time one 15-minute run needs at 512 MB (docs/scale.md's model): about
    1 s of set-up an account, then 3 calls an account x region at 44 calls/s of CPU."""
    accounts = 1 + len(settings.member_accounts)
    regions = (
        len(cloudhsm_regions())
        if ALL_REGIONS in settings.regions
        else max(len(settings.regions), 1)
    )
    calls = accounts * regions * c.CALLS_PER_REGION
    return math.ceil(
        accounts * c.ONE_LAMBDA_SECONDS_PER_ACCOUNT + calls / c.ONE_LAMBDA_CALLS_PER_SECOND
    )


def warn_past_one_lambda(stack: Stack, settings: Settings) -> None:
    """A single-run deploy whose accounts x regions pass the one-Lambda ceiling: a synth
    warning that names the fan-out (it deploys all the same)."""
    if settings.fan_out:
        return
    seconds = one_lambda_seconds(settings)
    if seconds > c.ONE_LAMBDA_READING_SECONDS:
        Annotations.of(stack).add_warning_v2(
            "hsm-backup-audit:one-lambda-ceiling",
            f"{1 + len(settings.member_accounts)} accounts need about {seconds} s of reading "
            f"in one run, past the {c.ONE_LAMBDA_READING_SECONDS} s one 15-minute Lambda has "
            "(docs/scale.md): every run would be INCOMPLETE. Fan out on Step Functions: "
            f"{c.CTX_FAN_OUT}=true (memberAccounts), or {c.CTX_ORGANIZATION}=true.",
        )

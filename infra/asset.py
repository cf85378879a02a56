"""The Lambda asset, built without Docker: the engine package and the validated policy.

The asset holds exactly `hsm_backup_audit/` (without caches), `policy.json` and, with
member accounts, `member-accounts.json`; the function reads them from there (POLICY_FILE,
MEMBER_ACCOUNTS_FILE), so neither counts against Lambda's 4 KB environment.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from hsm_backup_audit.constants import MEMBER_ACCOUNTS_FILE_IN_ASSET, POLICY_FILE_IN_ASSET

from .constants import FUNCTIONS_DIR, PACKAGE_NAME

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


@jsii.implements(ILocalBundling)
class _CopyPackage:
    """Copies the package and the policy into the asset folder CDK hands us."""

    def __init__(self, policy_file: Path, member_accounts: tuple[str, ...]) -> None:
        self._policy_file = policy_file
        self._member_accounts = member_accounts

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        out = Path(output_dir)
        shutil.copytree(FUNCTIONS_DIR / PACKAGE_NAME, out / PACKAGE_NAME, ignore=IGNORED)
        shutil.copyfile(self._policy_file, out / POLICY_FILE_IN_ASSET)
        if self._member_accounts:
            accounts = json.dumps(list(self._member_accounts), indent=0)
            (out / MEMBER_ACCOUNTS_FILE_IN_ASSET).write_text(accounts + "\n")
        return True


def function_code(policy_file: Path, member_accounts: tuple[str, ...] = ()) -> lambda_.Code:
    """The function's code; the asset hash is that of the output, so it changes with the policy."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, so Docker is never called.
            image=DockerImage.from_registry("local-bundling-only"),
            # jsii hands try_bundle its options as one positional struct, not as keywords.
            local=_CopyPackage(policy_file, member_accounts),  # type: ignore[arg-type]
        ),
    )

"""The Lambda asset, built without Docker: the engine package and the validated policy.

The asset holds exactly `hsm_backup_audit/` (without caches), `policy.json` and, with
member accounts, `member-accounts.json`; the function reads them from there (POLICY_FILE,
MEMBER_ACCOUNTS_FILE), so neither counts against Lambda's 4 KB environment.

It also holds Jinja2 and MarkupSafe (the evidence page's template engine, which the
Powertools layer does not carry), copied from this venv at their pinned versions: their
Python files, typing marker, METADATA and licence only. MarkupSafe's C speed-ups are left
out (built for this machine, not for Lambda's arm64), so it runs its own pure-Python code.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from hsm_backup_audit.constants import MEMBER_ACCOUNTS_FILE_IN_ASSET, POLICY_FILE_IN_ASSET

from .constants import FUNCTIONS_DIR, PACKAGE_NAME, ROOT, VENDORED_DISTRIBUTIONS

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
VENDORED_SUFFIXES = {".py", ".typed"}


class AssetError(RuntimeError):
    """The asset cannot be built as pinned (a vendored distribution at another version)."""


def pinned_version(name: str) -> str:
    """The version pyproject.toml pins `name` to (name==version in the dependencies)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        found = re.fullmatch(rf"{re.escape(name)}==([^\s;]+)", requirement, re.IGNORECASE)
        if found:
            return found.group(1)
    raise AssetError(f"{name} is not pinned in pyproject.toml's dependencies")


def vendor(name: str, out: Path) -> None:
    """Copy a pure-Python distribution's code, METADATA and licences into `out`."""
    dist = distribution(name)
    if dist.version != pinned_version(name):
        raise AssetError(
            f"{name} {dist.version} is installed but pyproject.toml pins {pinned_version(name)}: "
            "run `make install`"
        )
    for file in dist.files or []:
        in_metadata = file.parts[0].endswith(".dist-info")
        wanted = (
            file.name == "METADATA" or "licenses" in file.parts
            if in_metadata
            else file.suffix in VENDORED_SUFFIXES and "__pycache__" not in file.parts
        )
        if wanted:
            target = out / Path(*file.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(dist.locate_file(file))), target)


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
        for name in VENDORED_DISTRIBUTIONS:
            vendor(name, out)
        from .limits import check_asset_size  # limits imports the function, which imports us

        check_asset_size(out)
        return True


def function_code(policy_file: Path, member_accounts: tuple[str, ...] = ()) -> lambda_.Code:
    """The function's code; the asset hash is that of the output, so it changes with the policy."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, so Docker is never called.
            image=DockerImage.from_registry("local-bundling-only"),
            local=_CopyPackage(policy_file, member_accounts),
        ),
    )

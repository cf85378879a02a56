"""The Lambda asset: the package, the policy and the two vendored template libraries,
nothing else; it imports and renders the evidence page with only what Lambda gives it (the
Python runtime's boto3, the Powertools layer), and fits Lambda's package quotas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from importlib.metadata import Distribution, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hsm_backup_audit.configuration import load_configuration
from hsm_backup_audit.constants import MEMBER_ACCOUNTS_FILE_IN_ASSET, POLICY_FILE_IN_ASSET
from hsm_backup_audit.engine.policy import load_policy_file
from infra import constants as c
from infra.asset import pinned_version
from infra.constants import AUDIT_STACK_NAME, FUNCTIONS_DIR, PACKAGE_NAME, ROOT
from infra.limits import asset_sizes

from .conftest import MEMBER_ACCOUNTS, Synth

LAMBDA_RUNTIME = ("boto3",)  # and its dependencies: botocore, s3transfer, urllib3...
POWERTOOLS_LAYER = ("aws-lambda-powertools", "pydantic", "aws-xray-sdk")
CACHES = {"__pycache__"}


def asset_dir(synth: Synth) -> Path:
    """The function's asset folder, found through the stack's asset manifest."""
    template = synth.template_json(AUDIT_STACK_NAME)
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((synth.directory / f"{AUDIT_STACK_NAME}.assets.json").read_text())
    source = manifest["files"][asset_hash]["source"]
    assert source["packaging"] == "zip"
    return synth.directory / source["path"]


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


VENDORED = {
    "jinja2": pinned_version("jinja2"),
    "markupsafe": pinned_version("markupsafe"),
}


def test_asset_holds_the_package_the_policy_and_the_template_engine(default: Synth) -> None:
    asset = asset_dir(default)
    assert sorted(p.name for p in asset.iterdir()) == sorted(
        [PACKAGE_NAME, POLICY_FILE_IN_ASSET, *VENDORED]
        + [f"{name}-{version}.dist-info" for name, version in VENDORED.items()]
    )
    source = FUNCTIONS_DIR / PACKAGE_NAME
    shipped = _files(asset / PACKAGE_NAME)
    assert shipped == {
        p for p in _files(source) if not CACHES & set(p.parts) and p.suffix != ".pyc"
    }
    assert all(p.suffix in {".py", ".json", ".typed", ".html", ".svg", ".css"} for p in shipped)
    assert load_policy_file(asset / POLICY_FILE_IN_ASSET) == load_policy_file(ROOT / "policy.json")
    # The vendored libraries: Python files only (no machine code built for this machine),
    # with their licence and metadata at the pinned version
    for name, version in VENDORED.items():
        assert {p.suffix for p in _files(asset / name)} == {".py", ".typed"}
        metadata = (asset / f"{name}-{version}.dist-info" / "METADATA").read_text()
        assert f"\nVersion: {version}\n" in metadata
        assert list((asset / f"{name}-{version}.dist-info" / "licenses").iterdir())


def test_asset_fits_lambdas_package_quotas(default: Synth) -> None:
    extracted, zipped = asset_sizes(asset_dir(default))
    assert zipped < c.LAMBDA_ZIPPED_MAX_BYTES / 10
    assert extracted + c.POWERTOOLS_LAYER_ALLOWANCE_BYTES < c.LAMBDA_UNZIPPED_MAX_BYTES


def test_member_accounts_ship_in_the_asset_and_the_function_reads_them(full: Synth) -> None:
    # Given the full synth (1,000 member accounts): the list is a file in the asset
    asset = asset_dir(full)
    shipped = json.loads((asset / MEMBER_ACCOUNTS_FILE_IN_ASSET).read_text())
    assert shipped == list(MEMBER_ACCOUNTS)
    # When the function reads the environment the stack gave it, from the asset's folder
    (function,) = [
        r
        for r in full.template_json(AUDIT_STACK_NAME)["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    env = {
        k: v
        for k, v in function["Properties"]["Environment"]["Variables"].items()
        if isinstance(v, str)
    }
    env |= {"TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:t", "LAMBDA_TASK_ROOT": str(asset)}
    config = load_configuration(env)
    # Then it assumes the member role in each of the 1,000 accounts
    assert len(config.member_role_arns) == 1_000
    assert (
        config.member_role_arns[0]
        == f"arn:aws:iam::{MEMBER_ACCOUNTS[0]}:role/hsm-backup-audit-member"
    )


def _closure(names: tuple[str, ...]) -> list[Distribution]:
    """The distributions and, transitively, what they require (no extras)."""
    seen: dict[str, Distribution] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen[name] = distribution(name)
        for text in seen[name].requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def _provide(names: tuple[str, ...], into: Path) -> set[str]:
    """Symlink each distribution's top-level packages, modules and metadata into `into`."""
    provided = set()
    for dist in _closure(names):
        for file in dist.files or []:
            top = file.parts[0]
            if top in CACHES or top == ".." or (into / top).exists():
                continue
            (into / top).symlink_to(Path(str(dist.locate_file(top))))
        provided.add(canonicalize_name(dist.metadata["Name"]))
    return provided


def test_handler_imports_from_the_asset_with_only_the_runtime_and_the_layer(
    default: Synth, tmp_path: Path
) -> None:
    # Given a copy of the asset, a venv without site packages, and a folder that holds
    # exactly the runtime's and the layer's distributions (as /opt/python would)
    task = tmp_path / "task"
    shutil.copytree(asset_dir(default), task)
    opt = tmp_path / "opt-python"
    opt.mkdir()
    provided = _provide(LAMBDA_RUNTIME + POWERTOOLS_LAYER, opt)
    assert {"boto3", "botocore", "aws-lambda-powertools", "pydantic", "pydantic-core"} <= provided
    assert "hsm-backup-audit" not in provided and "moto" not in provided
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, symlinks=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir)}))
    (site / "layer.pth").write_text(f"{opt}\n")
    # When the handler is imported and the configuration read as Lambda would
    probe = f"""
import importlib.util
import hsm_backup_audit.handler as handler
from hsm_backup_audit.configuration import load_configuration
assert handler.__file__.startswith({str(task)!r}), handler.__file__
for absent in ("moto", "pytest", "aws_cdk", "hsm_backup_audit_demo", "markupsafe._speedups"):
    assert importlib.util.find_spec(absent) is None, absent
from datetime import UTC, datetime
import jinja2, markupsafe
from hsm_backup_audit.engine.period import SourcedReport, build_period
from hsm_backup_audit.render.html import evidence_html
assert jinja2.__file__.startswith({str(task)!r}) and markupsafe.__file__.startswith({str(task)!r})
document = {{"schema_version": 1, "status": "NON_COMPLIANT", "generated_at": "2026-03-01T06:00:00Z",
    "scope": {{"accounts": ["1"], "regions": ["r"], "policy_source": "p"}}, "findings": [
    {{"id": "v1-0", "rule": "mode", "severity": "HIGH", "account_id": "1", "region": "r",
      "cluster_id": "c", "backup_id": "<script>x</script>"}}]}}
page = evidence_html(build_period([SourcedReport(document, "k", "0" * 64)]), sources=["s"],
    asked_from=None, asked_to=None, generated_at=datetime.now(UTC))
assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
config = load_configuration({{
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:digest",
    "POLICY_FILE": "{POLICY_FILE_IN_ASSET}",
    "LAMBDA_TASK_ROOT": {str(task)!r},
    "AWS_REGION": "us-east-1",
}})
print(config.policy_source, config.regions)
"""
    result = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", probe],
        cwd=task,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(task), "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it imports, and reads the policy shipped in the asset
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [POLICY_FILE_IN_ASSET, "('us-east-1',)"]

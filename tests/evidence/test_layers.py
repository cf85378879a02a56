"""The layers stay visible: the engine (period figures included) and the rendering room
never import boto3 or botocore, and rendering never reaches into the AWS adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "functions" / "hsm_backup_audit"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


@pytest.mark.parametrize("room", ["engine", "render"])
def test_no_aws_sdk_in_the_engine_or_the_rendering(room: str) -> None:
    files = sorted((PACKAGE / room).glob("*.py"))
    assert files
    for path in files:
        found = imports(path)
        assert not {n for n in found if n.split(".")[0] in {"boto3", "botocore"}}, path
        assert not {n for n in found if n.lstrip(".").startswith("aws")}, path

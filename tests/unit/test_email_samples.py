"""The emails the README and docs/changes.md show are the code's own: the demo that made
them (`hsm_backup_audit_demo.changes_demo`) runs again here, and each sample must equal its
output line by line, once times, dates, run ids and the rows that depend on them are
written alike. A sample may stop early with a line `...`."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from hsm_backup_audit_demo import changes_demo
from tests.docs_blocks import ROOT

VOLATILE = [
    (re.compile(r"\d{8}T\d{6}Z-[0-9a-f-]{36}"), "<run id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"), "<time>"),
    (re.compile(r"\d{4}/\d{2}/\d{2}"), "<day path>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?"), "<day>"),
    (re.compile(r"scan took [0-9.]+ s"), "scan took <s> s"),
]


def normal(line: str) -> str:
    for pattern, placeholder in VOLATILE:
        line = pattern.sub(placeholder, line)
    return line


def email_sample(path: str) -> list[str]:
    """The first ```text block that holds an email (it starts with `Subject:`)."""
    text = (ROOT / path).read_text()
    match = re.search(r"```text\n(Subject: .*?)```", text, re.S)
    assert match, f"{path}: no email sample"
    return match.group(1).splitlines()


@pytest.fixture(scope="module")
def demo_email() -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert changes_demo.main() == 0
    return out.getvalue().splitlines()


@pytest.mark.parametrize("path", ["README.md", "docs/changes.md"])
def test_the_email_sample_is_what_the_code_sends(path: str, demo_email: list[str]) -> None:
    sample = email_sample(path)
    shown = sample[:-1] if sample[-1] == "..." else sample
    assert len(shown) >= 20, "the sample shows at least the first screen"
    assert [normal(line) for line in shown] == [normal(line) for line in demo_email[: len(shown)]]

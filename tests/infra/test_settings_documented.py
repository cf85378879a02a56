"""Every setting a user can pass is documented where the README sends them (docs/)."""

from __future__ import annotations

import re

from infra.constants import CONTEXT_DEFAULTS, ROOT


def test_every_context_key_is_documented() -> None:
    # Given the README and the docs it links
    text = (ROOT / "README.md").read_text() + "".join(
        page.read_text() for page in sorted((ROOT / "docs").glob("*.md"))
    )
    # Then each context key appears as code in a table row
    rows = [line for line in text.splitlines() if line.startswith("|")]
    missing = [key for key in CONTEXT_DEFAULTS if not any(f"`{key}`" in row for row in rows)]
    assert missing == []


def test_the_settings_page_names_no_retired_key() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    keys = set(re.findall(r"^\| `([A-Za-z]+)` \|", page, flags=re.M))
    assert len(keys) > 10
    assert keys <= set(CONTEXT_DEFAULTS)

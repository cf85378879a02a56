"""The evidence page in real headless Chromium: it loads with no console error and no
network request, its headline and tables equal what this test works out from the reports
on its own, hostile ids stay text, and it prints. A screenshot is left in test-artifacts/."""

from __future__ import annotations

import shutil
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit.engine.period import build_period
from hsm_backup_audit.render.html import evidence_html

from .browser import ARTIFACTS, FLAGS, chromium_or_skip
from .documents import finding, report, sourced

pytestmark = pytest.mark.browser
START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
HOSTILE_BACKUP = "backup-<script>alert(1)</script>"
HOSTILE_CLUSTER = '"><img src=x onerror=alert(2)>'
POOL = [
    finding(HOSTILE_BACKUP),
    finding("backup-b", "never-expires", cluster_id=HOSTILE_CLUSTER),
    finding("backup-c", "hsm-type", "MEDIUM"),
    finding("backup-d", "mode"),
    finding(None, "retention-policy", "MEDIUM", cluster_id="cluster-r"),
]
# Day -> which of POOL the day's run has; absent days are missed; "I": INCOMPLETE (same
# findings as the day before, so nothing is resolved or opened by it).
PLAN: dict[int, Any] = {
    0: [0, 1, 2],
    1: [0, 1, 2],
    2: [0, 2, 3],
    4: [0, 3],
    5: "I",
    6: [0, 3, 4],
    7: [0, 4],
    8: [0],
    10: [0],
    11: [],
    12: [2],
    13: [2],
}
POLICY = {
    "exemptions": [
        {
            "backup_id": "backup-x<b>",
            "rules": ["mode"],
            "expires": "2026-12-31",
            "reason": "<i>migration</i> & test",
        }
    ]
}


def documents() -> list[dict[str, Any]]:
    docs, previous = [], []
    for offset, picks in PLAN.items():
        at = START + timedelta(days=offset)
        if picks == "I":
            docs.append(report(at, [POOL[i] for i in previous], errors=1))
            continue
        previous = picks
        docs.append(report(at, [POOL[i] for i in picks]))
    return docs


def expected_lifecycles() -> list[tuple[str, str, int, int | None]]:
    """(rule, backup or cluster, day opened, day resolved or None), from PLAN alone: open
    at the first run that has it, resolved at the first complete run that does not."""
    out = []
    for index, entry in enumerate(POOL):
        opened = None
        for offset, picks in PLAN.items():
            if picks == "I":
                continue
            if index in picks and opened is None:
                opened = offset
            elif index not in picks and opened is not None:
                out.append(
                    (entry["rule"], entry["backup_id"] or entry["cluster_id"], opened, offset)
                )
                opened = None
        if opened is not None:
            out.append((entry["rule"], entry["backup_id"] or entry["cluster_id"], opened, None))
    return out


def stamp(offset: int | None) -> str | None:
    return (
        None if offset is None else (START + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def test_the_page_in_chromium(tmp_path: Path) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    docs = documents()
    reports = [sourced(d, f"reports/{i}.json", POLICY) for i, d in enumerate(docs)]
    period = build_period(reports, date(2026, 3, 1), date(2026, 3, 14), today=date(2026, 12, 1))
    page_file = tmp_path / "evidence.html"
    page_file.write_text(
        evidence_html(
            period,
            sources=["reports/<x>"],
            asked_from=date(2026, 3, 1),
            asked_to=date(2026, 3, 14),
            generated_at=START,
        ),
        encoding="utf-8",
    )
    # Independently: days with a run, each day's status (one run a day here), missed days
    days = {
        (START + timedelta(days=o)).date(): d["status"] for o, d in zip(PLAN, docs, strict=True)
    }
    every_day = [date(2026, 3, 1) + timedelta(days=n) for n in range(14)]
    missed = [d.isoformat() for d in every_day if d not in days]
    lifecycles = expected_lifecycles()
    fixed = [end - start for rule, _, start, end in lifecycles if rule == "mode" and end]

    console: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(str(e)))
        page.on("dialog", lambda d: console.append(f"dialog {d.message}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")

        def figure(name: str) -> str:
            return page.inner_text(f'[data-figure="{name}"]').strip()

        # Then the headline equals what the reports say
        assert figure("days-audited") == f"{len(days)} / 14"
        for status in ("COMPLIANT", "NON_COMPLIANT", "INCOMPLETE"):
            assert figure(f"days-{status}") == str(sum(1 for s in days.values() if s == status))
        assert figure("days-missed") == str(len(missed))
        assert page.locator("#missed-days time").all_inner_texts() == missed
        assert figure("open-at-end") == str(sum(1 for *_, end in lifecycles if end is None))
        # The calendar marks each missed day
        assert [c.get_attribute("data-day") for c in page.locator("td.missed").all()] == missed
        # And every lifecycle row, with the hostile ids as plain text
        rows = page.locator("#lifecycles tbody tr").all()
        shown = []
        for row in rows:
            cells = [row.locator("th").inner_text(), *row.locator("td").all_inner_texts()]
            resource = cells[2].split(" in cluster ")[0].removeprefix("cluster ")
            shown.append((cells[0], resource, None if cells[6] == "open" else cells[6]))
        expected = [(rule, where, stamp(end)) for rule, where, _, end in lifecycles]
        assert sorted(shown, key=repr) == sorted(expected, key=repr)
        assert page.locator("script, img, iframe, object").count() == 0
        assert HOSTILE_BACKUP in page.inner_text("#lifecycles")
        assert HOSTILE_CLUSTER in page.inner_text("#lifecycles")
        # Time to fix: how many HIGH mode findings were fixed, and their median days
        mode_row = page.locator("#fix-times tbody tr", has_text="mode").inner_text().split("\t")
        assert mode_row[2] == str(len(fixed))
        assert mode_row[3] == f"{statistics.median(fixed):.1f}"
        # The exemption from the policy, its markup as text
        assert "<i>migration</i> & test" in page.inner_text("#exemptions")
        # Every header cell has a scope
        assert page.locator("th:not([scope])").count() == 0
        page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
        browser.close()
    assert console == []
    assert requests == [page_file.as_uri()]
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "evidence.png", ARTIFACTS / "evidence-page.png")

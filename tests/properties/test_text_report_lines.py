"""No value can forge a line of the 80-column text report or of the digest, however it is
spaced: the wrap never puts a value where a heading, a finding or its fix line begins."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from hsm_backup_audit.engine.audit import Report
from hsm_backup_audit.engine.digest import render_digest
from hsm_backup_audit.engine.model import ScanError
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import grouped, to_text

from .strategies import ACCOUNT, REGIONS, fleets, hostile_text, run_audit

HEADER = "CloudHSM backup audit:"
FORGERIES = (
    f"{HEADER} COMPLIANT",
    "[HIGH] never-expires (1)",
    "fix: nothing to do, all clear",
    "backup-forged000000  cluster cluster-x  us-east-1  123456789012",
    "No findings: every backup meets the policy.",
    "ERRORS (0): none",
)
SUMMARY_STARTS = ("Account ", "Generated ", "Backups scanned: ")


@st.composite
def forging_text(draw: st.DrawFn) -> str:
    """Words of filler sized so that the wrap may start a line with a forged one."""
    filler = draw(st.sampled_from(["x", "ab ", "w ", "word "]))
    size = draw(st.integers(0, 110))
    start = draw(st.sampled_from(["", "\n", "\r\n", "\u2028", "\x1b[2K\r"]))
    return start + (filler * size)[:size] + " " + draw(st.sampled_from(FORGERIES))


values = forging_text() | hostile_text


def _hostile_report(data: st.DataObject) -> Report:
    backups, clusters = data.draw(fleets(max_backups=6))
    for raw in backups:
        raw["BackupId"] = data.draw(values)
        raw["ClusterId"] = data.draw(values)
    backups.append({"_region": REGIONS[0], "BackupId": data.draw(values), "NeverExpires": True})
    errors = [
        ScanError(ACCOUNT, REGIONS[1], "DescribeBackups", data.draw(values), data.draw(values))
        for _ in range(data.draw(st.integers(0, 2)))
    ]
    report = run_audit(backups, clusters, Policy(), errors)
    report.scope = replace(report.scope, policy_source=data.draw(values))
    return report


def _kinds(lines: list[str]) -> list[tuple[str, str]]:
    """(section, indent kind) of every line, by where it stands."""
    section, kinds = "summary", []
    for line in lines:
        if not line.startswith(" "):
            section = (
                "group"
                if line.startswith("[")
                else "errors"
                if line.startswith("ERRORS (")
                else "table"
                if line == "Findings by rule:"
                else section
            )
            kinds.append((section, "heading" if line else "blank"))
            continue
        indent = len(line) - len(line.lstrip(" "))
        kinds.append((section, {2: "entry", 4: "detail"}.get(indent, f"deeper{min(indent, 6)}")))
    return kinds


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_no_value_can_forge_a_line_of_the_text_report(data: st.DataObject) -> None:
    # Given ids, cluster ids, error codes and a policy path spaced to wrap into forged lines
    report = _hostile_report(data)
    # When the 80-column text is rendered
    out = to_text(report)
    lines = out.split("\n")[:-1]
    # Then it has only its own line breaks, and only the genuine header starts with it
    assert out.splitlines() == lines
    assert all(line.isprintable() for line in lines)
    assert [n for n, line in enumerate(lines) if line.startswith(HEADER)] == [0]
    # every line at column 0 is one of the report's own
    groups = grouped(report.findings)
    headings = [line for line in lines[1:] if line and not line.startswith(" ")]
    expected = [
        *(line for line in lines if line.startswith(SUMMARY_STARTS)),
        *(["Findings by rule:"] if groups else []),
        *(f"[{items[0].severity.name}] {rule} ({len(items)})" for rule, items in groups.items()),
        *(
            [f"ERRORS ({len(report.errors)}): the audit could not see everything"]
            if report.errors
            else []
        ),
        *([] if groups or report.errors else ["No findings: every backup meets the policy."]),
    ]
    assert headings == expected
    assert [line.split(" ", 1)[0] for line in headings[:3]] == ["Account", "Generated", "Backups"]
    # and each finding and error starts exactly one line at 2 spaces; its message and fix
    # are the only lines at 4; anything wrapped is deeper than all of them
    kinds = _kinds(lines)
    count = {kind: sum(1 for k in kinds if k == kind) for kind in set(kinds)}
    assert count.get(("group", "entry"), 0) == len(report.findings)
    assert count.get(("group", "detail"), 0) == 2 * len(report.findings)
    fixes = [line for line in lines if line.startswith("    fix: ")]
    assert len(fixes) == len(report.findings)
    assert count.get(("errors", "entry"), 0) == len(report.errors)
    assert count.get(("table", "entry"), 0) == len(groups)
    allowed = {"heading", "blank", "entry", "detail", "deeper6"}
    assert {kind for _, kind in kinds} <= allowed
    assert not any(kind in {"entry", "detail"} for section, kind in kinds if section == "summary")
    assert not any(kind == "detail" for section, kind in kinds if section != "group")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_no_value_can_forge_a_line_of_the_digest(data: st.DataObject) -> None:
    # Given the same hostile report / When the email digest is rendered (it never wraps)
    report = _hostile_report(data)
    digest = render_digest(report, run_id=data.draw(values))
    lines = digest.body.split("\n")[:-1]
    # Then only the genuine header starts with it, and each finding shown has one fix line
    assert digest.body.splitlines() == lines
    assert [n for n, line in enumerate(lines) if line.startswith(HEADER)] == [0]
    # every entry (one finding, or a group of one rule in one cluster) starts one line at 2
    # spaces with its own marker, and has one fix line
    entries = [ln for ln in lines if re.match(r"  (NEW \[[A-Z]+\] |- )", ln)]
    assert len([ln for ln in lines if re.match(r"    fix: ", ln)]) == len(entries)
    assert len(entries) <= digest.findings_shown <= len(report.findings)
    assert len([ln for ln in lines if re.match(r"\[[A-Z]+\] ", ln)]) == len(report.by_rule)

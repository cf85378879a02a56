"""The email at twenty times the demo fleet: about 2,500 backups in 80 clusters, one morning
after a baseline. NEW and STILL OPEN are per rule, then cluster; forty never-expires findings
two to a cluster are one block with a count per cluster; the NEW section keeps to 15 lines a
rule; the whole email stays within 64 KB. The body is kept as a snapshot
(tests/unit/snapshots/digest_20x.txt; UPDATE_SNAPSHOTS=1 rewrites it) so a reviewer sees it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hsm_backup_audit.engine.audit import Audit, Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.digest import render_digest
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
URL = "s3://hsm-backup-audit-reports/reports/123456789012/2026/12/07/20261207T060000Z-run.json"
SNAPSHOT = Path(__file__).parent / "snapshots" / "digest_20x.txt"


def _clusters() -> list[tuple[str, str, dict[str, Any]]]:
    """80 clusters: (region, id, what is special about it)."""
    out = []
    for n in range(80):
        region = REGIONS[n % 2]
        special: dict[str, Any] = {}
        if n < 4:
            special = {"Mode": "NON_FIPS"}
        elif n < 8:
            special = {"HsmType": "hsm1.medium"}
        out.append((region, f"cluster-{n:011d}", special))
    return out


def _morning(day: int, pinned: bool) -> Report:
    """Day 0 is the baseline; on day 1, 40 backups are pinned (two in each of 20 clusters)
    and 12 backups of one cluster are pending deletion."""
    now = NOW + timedelta(days=day - 1)
    audit = Audit(Policy(), now)
    clusters = _clusters()
    for region in REGIONS:
        audit.add_clusters(
            ACCOUNT,
            region,
            [
                {
                    "ClusterId": cid,
                    "State": "ACTIVE",
                    "CreateTimestamp": NOW - timedelta(days=400),
                    "BackupRetentionPolicy": {"Type": "DAYS", "Value": "90"},
                    "HsmType": special.get("HsmType", "hsm2m.medium"),
                    "Mode": special.get("Mode", "FIPS"),
                }
                for where, cid, special in clusters
                if where == region
            ],
        )
    for region in REGIONS:
        items = []
        for number, (where, cid, special) in enumerate(clusters):
            if where != region:
                continue
            for b in range(31):
                item = {
                    "BackupId": f"backup-{number:03d}{b:08d}",
                    "ClusterId": cid,
                    "BackupState": "READY",
                    "CreateTimestamp": now - timedelta(days=b, hours=1),
                    "NeverExpires": pinned and 20 <= number < 40 and b in (3, 4),
                    "Mode": special.get("Mode", "FIPS"),
                    "HsmType": special.get("HsmType", "hsm2m.medium"),
                }
                if day == 1 and number == 50 and b >= 19:
                    item["BackupState"] = "PENDING_DELETION"
                    item["DeleteTimestamp"] = now + timedelta(days=7 - b % 3)
                items.append(item)
        audit.add_backups(ACCOUNT, region, False, items)
    return audit.finish(Scope(REGIONS, ACCOUNT, (ACCOUNT,), False, "policy.json"))


def twenty_times_the_demo() -> Report:
    baseline = _morning(0, pinned=False)
    baseline.run_id = "20261206T060000Z-baseline"
    baseline.changes = compute_changes(baseline, None)
    today = _morning(1, pinned=True)
    today.changes = compute_changes(today, json.loads(json.dumps(to_document(baseline))))
    return today


def _section(lines: list[str], title: str) -> list[str]:
    start = next(n for n, line in enumerate(lines) if line.startswith(title))
    end = next(
        (n for n in range(start + 2, len(lines)) if lines[n] and not lines[n].startswith(" ")),
        len(lines),
    )
    return lines[start + 1 : end]


def test_twenty_times_the_demo_fleet_reads_per_rule_then_cluster_within_64_kb() -> None:
    report = twenty_times_the_demo()
    assert report.backups_scanned == 2480
    digest = render_digest(report, run_id="20261207T060000Z-run", report_url=URL)
    body = digest.body
    lines = body.splitlines()
    # The whole email within 64 KB, every finding accounted for
    assert len(body.encode("utf-8")) <= 64 * 1024
    assert digest.findings_shown + digest.findings_omitted == len(report.findings)
    # NEW: one entry per rule, at most 15 lines each
    new = _section(lines, "NEW (")
    entries = [n for n, line in enumerate(new) if line.startswith("  NEW [")]
    assert [new[n].split(":")[0] for n in entries] == [
        "  NEW [HIGH] never-expires",
        "  NEW [INFO] pending-deletion",
    ]
    for start, end in zip(entries, [*entries[1:], len(new)], strict=True):
        assert end - start <= 15
    # 40 never-expires findings, two in each of 20 clusters: one block, a count per cluster
    block = new[entries[0] : entries[1]]
    assert block[0] == "  NEW [HIGH] never-expires: 40 backups in 20 clusters"
    assert sum(line.endswith(")") and ": 2 backups (" in line for line in block) == 8
    assert "    ... and 12 more (all in the report)" in block
    assert f"    fix: hsm-backup-audit fix {URL} --rule never-expires" in block
    # the pending deletions of one cluster: the range of their dates, one command for them
    pending = new[entries[1] :]
    assert any(
        "permanently deleted 2026-12-12 06:00 to 2026-12-14 06:00 UTC." in ln for ln in pending
    )
    # (no command restores them all: each is restored only if deleted by mistake)
    assert "hsm-backup-audit fix" not in "\n".join(pending)
    assert any(line.startswith("    fix: each one, e.g.: If it was deleted") for line in pending)
    # STILL OPEN: per rule, each rule one entry (no near-identical blocks per cluster)
    still = lines[lines.index("STILL OPEN (248)") : lines.index("Per region")]
    assert [line.split(":")[0] for line in still if line.startswith("  - ")] == [
        "  - mode",
        "  - hsm-type",
    ]
    assert "  - mode: 124 backups in 4 clusters" in still
    # the body as the snapshot keeps it
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(body)
    assert body == SNAPSHOT.read_text()

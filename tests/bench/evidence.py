"""Evidence figures: a year of daily reports with 1,000 findings each, as JSON documents,
made into the period's figures and the page (and the CSV), timed (best of 3); the page's
size in bytes. Each day 5 findings are fixed and 5 new ones appear (about 2,800 lifecycles
over the year); one day in 30 is missed and one in 45 INCOMPLETE.

Targets: the figures and the page within 5 s, the page under 5 MiB, the peak memory of
reading, working out and rendering the year within the function's 512 MiB. Reading the reports
(parsing and hashing what S3 or the files gave) is timed apart: it grows with the reports'
size, not with the page."""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from hsm_backup_audit.engine.model import finding_id
from hsm_backup_audit.engine.period import SourcedReport, build_period, slim_report
from hsm_backup_audit.render.csv_export import lifecycle_csv
from hsm_backup_audit.render.html import evidence_html

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
START = datetime(2025, 12, 1, 6, 0, tzinfo=UTC)
DAYS, PER_DAY, CHURN = 365, 1_000, 5
SECONDS, PAGE_MIB, MEMORY_MIB = 5.0, 5.0, 512.0  # the function's memory
MIB = 2**20
RULES = (("mode", "HIGH"), ("never-expires", "HIGH"), ("hsm-type", "MEDIUM"), ("overdue", "LOW"))

Figure = tuple[str, bool, str]
VERSION = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"  # S3's length


def _finding(n: int, first_seen: datetime) -> dict[str, Any]:
    rule, severity = RULES[n % len(RULES)]
    region, cluster, backup = REGIONS[n % 2], f"cluster-{n // 250:011d}", f"backup-{n:011d}"
    return {
        "id": finding_id(rule, ACCOUNT, region, cluster, backup),
        "rule": rule,
        "severity": severity,
        "account_id": ACCOUNT,
        "region": region,
        "cluster_id": cluster,
        "backup_id": backup,
        "shared": False,
        "message": f"backup {backup} breaks {rule}",
        "remediation": f"aws cloudhsmv2 delete-backup --backup-id {backup}",
        "tags": {"team": "pki"},
        "first_seen": first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def year_of_reports() -> list[tuple[str, bytes]]:
    """(S3 key, body) of each day's report."""
    out = []
    for day in range(DAYS):
        at = START + timedelta(days=day)
        if day % 30 == 29:
            continue  # missed
        numbers = range(day * CHURN, day * CHURN + PER_DAY)
        first = {n: START + timedelta(days=max(0, (n - PER_DAY) // CHURN + 1)) for n in numbers}
        document = {
            "schema_version": 1,
            "status": "INCOMPLETE" if day % 45 == 44 else "NON_COMPLIANT",
            "generated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_id": f"{at:%Y%m%dT%H%M%SZ}-bench",
            "scope": {
                "regions": list(REGIONS),
                "account_id": ACCOUNT,
                "accounts": [ACCOUNT],
                "include_shared": True,
                "policy_source": "policy.json",
            },
            "summary": {},
            "findings": [_finding(n, first[n]) for n in numbers],
            "errors": [],
        }
        key = f"s3://reports/reports/{ACCOUNT}/{at:%Y/%m/%d}/{document['run_id']}.json"
        out.append((key, json.dumps(document).encode()))
    return out


def read(bodies: list[tuple[str, bytes]]) -> list[SourcedReport]:
    """What the source adapter does with each body: parse it, slim it, hash it."""
    strings: dict[str, str] = {}
    return [
        SourcedReport(
            slim_report(json.loads(body), strings), key, hashlib.sha256(body).hexdigest(), VERSION
        )
        for key, body in bodies
    ]


def measure() -> list[Figure]:
    bodies = year_of_reports()
    best, page, csv_text, lifecycles, reading = float("inf"), "", "", 0, float("inf")
    for _ in range(3):
        started = time.perf_counter()
        reports = read(bodies)
        reading = min(reading, time.perf_counter() - started)
        started = time.perf_counter()
        period = build_period(reports)
        page = evidence_html(
            period,
            sources=["s3://reports"],
            asked_from=None,
            asked_to=None,
            generated_at=datetime.now(UTC),
        )
        csv_text = lifecycle_csv(period)
        best = min(best, time.perf_counter() - started)
        lifecycles = len(period.lifecycles)
    size = len(page.encode("utf-8"))
    tracemalloc.start()  # once more, untimed: the peak while reading and rendering
    evidence_html(
        build_period(read(bodies)),
        sources=["s3://reports"],
        asked_from=None,
        asked_to=None,
        generated_at=datetime.now(UTC),
    )
    peak = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.stop()
    detail = (
        f"{len(reports)} reports x {PER_DAY:,} findings, {lifecycles:,} lifecycles: "
        f"{best:.2f} s (target {SECONDS:.0f} s); reading them (JSON, SHA-256) {reading:.2f} s "
        f"more, {sum(len(b) for _, b in bodies) / MIB:.0f} MiB"
    )
    return [
        ("evidence page of a year", best <= SECONDS, detail),
        (
            "evidence memory",
            peak <= MEMORY_MIB,
            f"peak {peak:.0f} MiB reading, working out and rendering the year "
            f"(target {MEMORY_MIB:.0f} MiB, the function's memory)",
        ),
        (
            "evidence page size",
            size <= PAGE_MIB * MIB,
            f"{size / MIB:.2f} MiB (target {PAGE_MIB:.0f} MiB); CSV "
            f"{len(csv_text.encode()) / MIB:.2f} MiB",
        ),
    ]

"""What-changed figures: the changes between two runs of 100,000 findings each and the digest
of that run, timed (best of 3) and measured (tracemalloc peak); the digest of a
30,000-finding run, grouped, in bytes.

The fleet: clusters of 250 backups, each backup breaking one rule (mode, never-expires
or hsm-type by cluster), plus 1,000 findings alone in a cluster of their own (nothing to
group). Tuesday fixes 10,000 of Monday's findings and adds 10,000 new ones.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.changes import compute_changes
from hsm_backup_audit.engine.coverage import LISTINGS, Coverage, backup_mark
from hsm_backup_audit.engine.digest import render_digest
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.report import to_json

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
PER_CLUSTER = 250
RULES = (Rule.MODE, Rule.NEVER_EXPIRES, Rule.HSM_TYPE)
MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SECONDS, MIB_AT_MOST, DIGEST_KIB = 1.0, 100, 64
MIB = 2**20

Figure = tuple[str, bool, str]  # (target, passed, detail)


def _finding(n: int) -> Finding:
    alone = n % 100 == 99  # 1 in 100: a cluster of its own
    cluster = f"cluster-{n:011d}" if alone else f"cluster-{n // PER_CLUSTER:011d}"
    rule = RULES[(n // PER_CLUSTER) % len(RULES)]
    return Finding(
        rule=rule,
        severity=RULE_SEVERITY[rule],
        account_id=ACCOUNT,
        region=REGIONS[(n // PER_CLUSTER) % len(REGIONS)],
        cluster_id=cluster,
        backup_id=f"backup-{n:011d}",
        shared=False,
        message=f"{rule}: backup-{n:011d} breaks the policy",
        remediation=f"aws cloudhsmv2 describe-backups --filters backupIds=backup-{n:011d}",
    )


def coverage_of(listed: range) -> Coverage:
    """Every cell read completely, listing these backups (as a scan's coverage has them)."""
    read = frozenset((ACCOUNT, region, kind) for region in REGIONS for kind in LISTINGS)
    marks = frozenset(
        backup_mark(ACCOUNT, REGIONS[(n // PER_CLUSTER) % len(REGIONS)], f"backup-{n:011d}")
        for n in listed
    )
    return Coverage(read, backups=marks, clusters=frozenset())


def run_of(numbers: range | list[int], at: datetime, listed: range | None = None) -> Report:
    findings = sorted((_finding(n) for n in numbers), key=Finding.sort_key)
    return Report(
        status=Status.NON_COMPLIANT,
        generated_at=at,
        scope=Scope(REGIONS, ACCOUNT, (ACCOUNT,), True, "policy.json"),
        backups_scanned=len(findings),
        findings=findings,
        errors=[],
        by_region=dict.fromkeys(REGIONS, len(findings) // len(REGIONS)),
        run_id=f"{at:%Y%m%dT%H%M%SZ}-bench",
        coverage=coverage_of(listed if listed is not None else range(0)),
    )


def _best(action: Callable[[], Any], rounds: int = 3) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds). The target is judged on CPU time: up to 8
    sessions share this machine's 2 cores, so wall time measures the neighbours too."""
    cpu, wall = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return min(cpu), min(wall)


def _peak_mib(action: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MIB


def measure(findings: int = 100_000) -> list[Figure]:
    monday = run_of(range(findings), MONDAY)
    monday.changes = compute_changes(monday, None)
    baseline = json.loads(to_json(monday))  # as read back from S3 (untimed)
    tenth = findings // 10
    # Tuesday still lists Monday's fixed backups: their findings resolve as "fixed"
    tuesday = run_of(
        range(tenth, findings + tenth), MONDAY + timedelta(days=1), listed=range(findings + tenth)
    )

    def changes() -> None:
        tuesday.changes = compute_changes(tuesday, baseline)

    changes()
    assert tuesday.changes is not None
    assert (len(tuesday.changes.new), len(tuesday.changes.resolved)) == (tenth, tenth)
    assert {gone.reason for gone in tuesday.changes.resolved} == {"fixed"}

    def digest() -> None:
        render_digest(tuesday, run_id="bench", report_url="s3://bucket/reports/bench.json")

    (change_s, change_wall), change_mib = _best(changes), _peak_mib(changes)
    (digest_s, digest_wall), digest_mib = _best(digest), _peak_mib(digest)
    thirty = run_of(range(30_000), MONDAY)
    thirty.changes = compute_changes(thirty, None)
    small = render_digest(thirty, run_id="bench", report_url="s3://bucket/reports/bench.json")
    size_kib = len(small.body.encode("utf-8")) / 1024
    n = f"{findings:,}"
    return [
        (
            f"changes, {n} vs {n} findings, <= {SECONDS:.0f} s and {MIB_AT_MOST} MiB",
            change_s <= SECONDS and change_mib <= MIB_AT_MOST,
            f"{change_s:.2f} s CPU ({change_wall:.2f} s wall), {change_mib:.0f} MiB peak",
        ),
        (
            f"digest of that run, <= {SECONDS:.0f} s and {MIB_AT_MOST} MiB",
            digest_s <= SECONDS and digest_mib <= MIB_AT_MOST,
            f"{digest_s:.2f} s CPU ({digest_wall:.2f} s wall), {digest_mib:.0f} MiB peak",
        ),
        (
            f"digest of a 30,000-finding run, grouped, < {DIGEST_KIB} KiB",
            size_kib < DIGEST_KIB,
            f"{size_kib:.1f} KiB, {small.findings_shown:,} findings shown "
            f"({small.findings_omitted:,} left to the report)",
        ),
    ]

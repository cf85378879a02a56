"""The organization figures: merging 1,000 partial reports, and an organization fanned out.

`make bench BENCH_ARGS="--section fanout"` runs this section alone; `--org-accounts N`
sets the organization's size (1,000 by default: 1,000 accounts x 4 regions at 100 ms a
call). It runs the fan-out as the state machine does: the plan (its work list; the
Organizations listing is modelled, one 20-account page after another), batches of 10
side by side in separate processes, each writing its partial report, then the merge. It
reports the wall time against the floor, the custom metrics the merge emits (bounded,
hsm_backup_audit.run_metrics.metric_bound) and the merge's peak memory.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import os
import time
import tracemalloc
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.engine.audit import Scope
from hsm_backup_audit.engine.merge import merge, read_partial_text
from hsm_backup_audit.engine.partial import PartialAudit, PartialRecorder, partial_document
from hsm_backup_audit.engine.policy import Policy
from hsm_backup_audit.engine.report import to_document
from hsm_backup_audit.run_metrics import metric_bound

from .server_process import Listing, ServerProcess
from .walks import CALLER, role_arn

PARTIALS, FINDINGS_EACH = 1_000, 100
ORG_ACCOUNTS, ORG_REGIONS = 1_000, ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
ONE_LAMBDA_COMPARED_UP_TO = 200  # past this, one scan of every account takes too long here
LIST_ACCOUNTS_PAGE = 20  # Organizations' ListAccounts: at most 20 accounts a page
BACKUPS_PER_REGION = 3
BATCH_SIZE, SIDE_BY_SIDE = 10, 4
Say = Callable[[str], None]


def _partial_documents(now: datetime) -> list[str]:
    """1,000 one-account partials of 100 non-compliant backups each (NeverExpires)."""
    documents = []
    for number in range(PARTIALS):
        account = f"{100000000000 + number}"
        audit = PartialAudit(Policy(), now)
        ids = [f"backup-{number:05d}{n:06d}" for n in range(FINDINGS_EACH)]
        page = [
            {
                "BackupId": backup_id,
                "BackupArn": f"arn:aws:cloudhsm:us-east-1:{account}:backup/{backup_id}",
                "BackupState": "READY",
                "ClusterId": f"cluster-{number:011d}",
                "CreateTimestamp": now - timedelta(hours=n + 1),
                "NeverExpires": True,
                "Mode": "FIPS",
                "HsmType": "hsm2m.medium",
            }
            for n, backup_id in enumerate(ids)
        ]
        audit.add_backups(account, "us-east-1", False, page)
        report = audit.finish(Scope(("us-east-1",), account, (account,), True))
        info = audit.partial_info(report, [account])
        documents.append(json.dumps(partial_document(report, info)))
    return documents


def _merge_all(documents: Sequence[str]) -> dict[str, Any]:
    partials = [read_partial_text(text, f"part-{n}") for n, text in enumerate(documents)]
    return to_document(merge(partials).report)


def merge_figures(say: Say, now: datetime) -> list[tuple[str, bool, str]]:
    say(f"== Merge {PARTIALS:,} partial reports, {PARTIALS * FINDINGS_EACH:,} findings")
    documents = _partial_documents(now)
    size = sum(len(d) for d in documents)
    gc.collect()
    started = time.perf_counter()
    merged = _merge_all(documents)
    wall = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    _merge_all(documents)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    findings = merged["summary"]["findings"]
    say(f"  input        : {size / 2**20:.1f} MiB of JSON")
    say(f"  merge        : {wall:.2f} s (read, validate, merge, render), {findings:,} findings")
    say(f"  peak memory  : {peak / 2**20:.0f} MiB (tracemalloc, beyond the input strings)")
    return [
        ("merge 1,000 partials within 5 s", wall <= 5, f"{wall:.2f} s"),
        ("merge within 500 MiB", peak <= 500 * 2**20, f"{peak / 2**20:.0f} MiB"),
        ("every finding merged", findings == PARTIALS * FINDINGS_EACH, f"{findings:,}"),
    ]


def _request(url: str, now: datetime, members: Sequence[str], **fields: Any) -> ScanRequest:
    return ScanRequest(
        regions=ORG_REGIONS,
        policy=Policy(),
        role_arns=[role_arn(m) for m in members],
        endpoint_url=url,
        now=now,
        **fields,
    )


def _batch(url: str, now: datetime, accounts: list[str]) -> tuple[float, str]:
    """One child execution: scan the batch, render its partial. (wall seconds, document)"""
    started = time.monotonic()
    recorder = PartialRecorder()
    members = [a for a in accounts if a != CALLER]
    report = scan(
        _request(url, now, members, include_caller=CALLER in accounts, audit_factory=recorder)
    )
    document = json.dumps(partial_document(report, recorder.partial_info(report, accounts)))
    return time.monotonic() - started, document


def _custom_metrics(report: Any) -> int:
    """The distinct (metric, dimensions) series the merge's run emits: each one a billed
    custom metric."""
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HsmBackupAudit")
    from hsm_backup_audit.observability import metrics
    from hsm_backup_audit.run_metrics import emit_run_metrics

    metrics.clear_metrics()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit_run_metrics(report, run_id="bench")
        metrics.flush_metrics()
    series = set()
    for line in out.getvalue().splitlines():
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            dims = tuple(sorted((n, document[n]) for d in directive["Dimensions"] for n in d))
            series |= {(m["Name"], dims) for m in directive["Metrics"]}
    return len(series)


def _merge_measured(
    results: list[tuple[float, str]], accounts: list[str]
) -> tuple[Any, float, int]:
    """(merged report, seconds, peak bytes): read every partial, merge, render."""
    gc.collect()
    tracemalloc.start()
    started = time.monotonic()
    merged = merge(
        [read_partial_text(doc, f"b{n}") for n, (_, doc) in enumerate(results)],
        planned_accounts=accounts,
    ).report
    to_document(merged)
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return merged, seconds, peak


def organization_figures(
    say: Say, now: datetime, latency: float, size: int = ORG_ACCOUNTS
) -> tuple[list[tuple[str, bool, str]], dict[str, float]]:
    members = [f"{200000000000 + n}" for n in range(size - 1)]
    accounts = [CALLER, *members]
    estate = [Listing(a, r, BACKUPS_PER_REGION) for a in accounts for r in ORG_REGIONS]
    say("")
    say(
        f"== An organization of {len(accounts):,} accounts x {len(ORG_REGIONS)} regions "
        f"on moto, {latency * 1000:.0f} ms a call: plan, batches of {BATCH_SIZE}, "
        f"{SIDE_BY_SIDE} side by side, merge"
    )
    with ServerProcess(estate, now) as server:
        server.reset(latency)
        started = time.monotonic()
        # plan: the work list the Map reads (the ListAccounts pages are modelled below)
        work_list = json.dumps([{"account_id": a, "role_arn": None} for a in accounts])
        batches = [accounts[n : n + BATCH_SIZE] for n in range(0, len(accounts), BATCH_SIZE)]
        with ProcessPoolExecutor(max_workers=SIDE_BY_SIDE) as pool:
            results = list(
                pool.map(_batch, [server.url] * len(batches), [now] * len(batches), batches)
            )
        mapped = time.monotonic() - started
        merged, merge_seconds, merge_peak = _merge_measured(results, accounts)
        fanned = time.monotonic() - started
        one_lambda = None
        if len(accounts) <= ONE_LAMBDA_COMPARED_UP_TO:
            server.reset(latency)
            started = time.monotonic()
            single = scan(_request(server.url, now, members))
            one_lambda = time.monotonic() - started
    durations = [seconds for seconds, _ in results]
    slowest, total = max(durations), sum(durations)
    waves = -(-len(batches) // SIDE_BY_SIDE)
    plan_pages = math.ceil(len(accounts) / LIST_ACCOUNTS_PAGE)
    plan_seconds = plan_pages * latency
    floor = plan_seconds + waves * slowest
    metrics_count = _custom_metrics(merged)
    document = to_document(merged)
    report_bytes = len(json.dumps(document))
    partial_bytes = sum(len(doc) for _, doc in results)
    complete = not merged.errors and len(merged.scope.accounts) == len(accounts)
    say(
        f"  batches      : {len(batches)} x {BATCH_SIZE}, slowest {slowest:.1f} s, sum {total:.0f}s"
    )
    say(
        f"  plan         : work list {len(work_list) / 1024:.0f} KiB; ListAccounts modelled: "
        f"{plan_pages} pages x {latency:.2f} s = {plan_seconds:.1f} s"
    )
    say(f"  fan-out wall : {fanned:.2f} s = map {mapped:.2f} s + merge {merge_seconds:.2f} s")
    say(
        f"  floor        : plan {plan_seconds:.1f} s + {waves} waves x slowest batch = "
        f"{floor:.2f} s (fan-out + modelled plan is {(fanned + plan_seconds) / floor:.2f}x it)"
    )
    say(
        f"  merge        : {merge_seconds:.2f} s, peak {merge_peak / 2**20:.0f} MiB (tracemalloc); "
        f"partials {partial_bytes / 2**20:.1f} MiB, report {report_bytes / 2**20:.2f} MiB"
    )
    say(
        f"  metrics      : {metrics_count} custom metrics for the run "
        f"(bound {metric_bound(len(ORG_REGIONS))} at {len(ORG_REGIONS)} regions)"
    )
    if one_lambda is not None:
        same = to_document(merged) == to_document(single)
        say(f"  one Lambda   : {one_lambda:.2f} s (fan-out: {fanned / one_lambda:.2f} of it)")
        say(f"  merged report equals the single scan's: {same}")
    figures = {
        "seconds_per_account": total / len(accounts),
        "merge_seconds": merge_seconds,
        "regions": len(ORG_REGIONS),
        "latency": latency,
    }
    targets = [
        (
            f"{len(accounts):,} accounts merged, complete",
            complete,
            f"{merged.backups_scanned:,} backups, {len(merged.errors)} errors",
        ),
        (
            "fan-out within 1.5x its floor",
            fanned + plan_seconds <= 1.5 * floor,
            f"{fanned + plan_seconds:.1f} s vs {floor:.1f} s",
        ),
        (
            "custom metrics per run within the bound",
            metrics_count <= metric_bound(len(ORG_REGIONS)),
            f"{metrics_count} <= {metric_bound(len(ORG_REGIONS))}",
        ),
        (
            "merge peak memory within 500 MiB",
            merge_peak <= 500 * 2**20,
            f"{merge_peak / 2**20:.0f} MiB",
        ),
    ]
    if one_lambda is not None:
        targets.append(("merged organization report == single scan", same, str(single.status)))
    return targets, figures


def run(say: Say, latency: float, size: int = ORG_ACCOUNTS) -> list[tuple[str, bool, str]]:
    now = datetime.now(UTC)
    targets = merge_figures(say, now)
    org_targets, figures = organization_figures(say, now, latency, size)
    per_account = figures["seconds_per_account"]
    say("")
    say(
        f"  per account in a batch: {per_account:.2f} s at {figures['regions']} regions "
        "(start-up, 3 listings a region, partial report)"
    )
    return targets + org_targets

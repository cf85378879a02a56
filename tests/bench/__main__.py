"""`make bench` (python -m tests.bench): the scan's overhead over a bare paginator; its
speed, call count and memory across many accounts and regions; and the cost of working
out what changed between two runs and rendering the digest; and planning fixes from a
100,000-finding report. All in one run, or one with --section.
Prints PASS/FAIL per target; exits 1 if a target is missed."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hsm_backup_audit.aws.cloudhsm import all_regions
from hsm_backup_audit.aws.scanner import ScanRequest, scan
from hsm_backup_audit.constants import DEFAULT_MAX_WORKERS, RETRY_MODE, TIME_RESERVE_SECONDS
from hsm_backup_audit.engine.audit import Report
from hsm_backup_audit.engine.policy import Policy

from . import changes, evidence, fanout, fix_plan, memory
from .server_process import Listing, ServerProcess
from .walks import (
    CALLER,
    backup_page_floor,
    bare_walk,
    longest_listing_pages,
    role_arn,
)

MEMBERS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2")
# Thousands of backups over 3 accounts x 4 regions; the caller's us-east-1 is the longest
# listing (41 pages), so it sets the floor.
ESTATE = [
    *(Listing(CALLER, r, n) for r, n in zip(REGIONS, (2010, 640, 320, 160), strict=True)),
    *(Listing(m, r, n) for m in MEMBERS for r, n in zip(REGIONS, (640, 320, 160, 60), strict=True)),
]
LAMBDA_SECONDS = 15 * 60
AT_150_MS = 0.150
MIB = 2**20  # every memory figure of the benchmarks is in MiB
# Lambda gives one full vCPU at 1,769 MiB of memory (its console says "MB"), pro rata below.
LAMBDA_512_MIB_VCPU = 512 / 1769


@dataclass
class Target:
    name: str
    passed: bool
    detail: str


def say(text: str = "") -> None:
    print(text, flush=True)


def isolate_from_real_aws() -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
    )


def request(url: str, now: datetime, regions: Sequence[str], **fields: object) -> ScanRequest:
    return ScanRequest(regions=regions, policy=Policy(), endpoint_url=url, now=now, **fields)  # type: ignore[arg-type]


def speed(backups: int, rounds: int, now: datetime) -> list[Target]:
    say(f"== Overhead: scan vs bare boto3 paginator, {backups:,} backups, moto server, no latency")
    region = ("us-east-1",)
    with ServerProcess([Listing(CALLER, region[0], backups)], now) as server:
        server.reset()
        bare_walk(server.url, [CALLER], region)  # warm both paths once, untimed
        scan(request(server.url, now, region))
        bare_times, scan_times = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            bare_walk(server.url, [CALLER], region)
            bare_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            report = scan(request(server.url, now, region))
            scan_times.append(time.perf_counter() - started)
    ratio = min(scan_times) / min(bare_times)
    say(f"  bare walk (clusters, owned, shared): {fmt(bare_times)}  best {min(bare_times):.2f} s")
    say(f"  scan (same listings, judged)       : {fmt(scan_times)}  best {min(scan_times):.2f} s")
    say(f"  scanned {report.backups_scanned:,} backups, {report.status}; ratio {ratio:.2f}x")
    return [
        Target("overhead: scan <= 1.15x bare paginator", ratio <= 1.15, f"{ratio:.2f}x"),
        Target(
            "overhead: every backup counted",
            report.backups_scanned == backups and not report.errors,
            f"{report.backups_scanned:,}/{backups:,}",
        ),
    ]


def fmt(times: list[float]) -> str:
    return " ".join(f"{t:5.2f}" for t in times)


@dataclass
class Run:
    """One side-by-side scan of the estate, as the server saw it."""

    wall: float
    startup: float  # STS calls and clients, until the first listing call came in
    cpu: float  # this process's CPU: the client side alone (the server is elsewhere)
    calls: list[tuple[str, dict[str, object], float]]
    report: Report

    def listing_calls(self) -> list[tuple[str, dict[str, object], float]]:
        return [c for c in self.calls if c[0].startswith("Describe")]


def measured_scan(server: ServerProcess, now: datetime, latency: float, roles: list[str]) -> Run:
    server.reset(latency)
    started, cpu = time.monotonic(), time.process_time()
    report = scan(request(server.url, now, REGIONS, role_arns=roles))
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    calls = server.calls()
    first = min(at for op, _, at in calls if op.startswith("Describe"))
    return Run(wall, first - started, cpu, calls, report)


def scale(latency: float, rounds: int, now: datetime) -> tuple[list[Target], dict[str, float]]:
    total = sum(spec.backups for spec in ESTATE)
    accounts = [CALLER, *MEMBERS]
    roles = [role_arn(m) for m in MEMBERS]
    longest = longest_listing_pages(ESTATE)
    floor = longest * latency
    page_floor = backup_page_floor(ESTATE)
    say()
    say(
        f"== Many accounts and regions: {total:,} backups, {len(accounts)} accounts x "
        f"{len(REGIONS)} regions "
        f"= {len(ESTATE) * 3} listings, {latency * 1000:.0f} ms per call, "
        f"moto in its own process"
    )
    with ServerProcess(ESTATE, now) as server:
        runs = [measured_scan(server, now, latency, roles) for _ in range(rounds)]
        best = min(runs, key=lambda run: run.wall - run.startup)
        server.reset(latency)
        started = time.monotonic()
        seen = bare_walk(server.url, accounts, REGIONS)
        sequential = time.monotonic() - started
        retry_targets, retry_figures = retry_modes(server, latency, now, roles, total)
    report, wall, startup = best.report, best.wall, best.startup
    listing_calls = best.listing_calls()
    backups_calls = sum(op == "DescribeBackups" for op, _, _ in listing_calls)
    too_big = [
        op
        for op, params, _ in listing_calls
        if params.get("MaxResults") != (50 if op == "DescribeBackups" else 25)
    ]
    per_page = (wall - startup) / longest
    cpu_per_call = best.cpu / len(listing_calls)
    say(
        f"  scan, side by side : {fmt([r.wall for r in runs])} s, best {wall:.2f} s "
        f"({report.backups_scanned:,} backups, {report.status}, {len(report.errors)} errors)"
    )
    say(
        f"  start-up           : {startup:6.2f} s  (3 STS calls, 12 clients, until the first "
        "listing call)"
    )
    say(
        f"  floor              : {floor:6.2f} s  (longest listing {longest} pages x "
        f"{latency * 1000:.0f} ms)"
    )
    say(
        f"  wall - start-up    : {wall - startup:6.2f} s  = {(wall - startup) / floor:.2f}x the "
        f"floor; {per_page * 1000:.0f} ms a page on the longest listing"
    )
    say(
        f"  client CPU         : {best.cpu:6.2f} s  ({cpu_per_call * 1000:.1f} ms a call, "
        f"{len(listing_calls)} calls)"
    )
    say(
        f"  sequential walk    : {sequential:6.2f} s  (bare boto3, one listing after another: "
        f"the scan takes {wall / sequential:.2f} of it)"
    )
    say(f"  DescribeBackups    : {backups_calls} calls, page floor {page_floor}")
    for line in retry_figures:
        say(line)
    figures = {
        "latency": latency,
        "per_page": per_page,
        "cpu_per_call": cpu_per_call,
        "startup_per_account": startup / len(accounts),
    }
    return [
        Target(
            "scale: wall <= 1.2x floor + start-up",
            wall <= 1.2 * floor + startup,
            f"{wall:.2f} s <= {1.2 * floor + startup:.2f} s",
        ),
        Target(
            "scale: DescribeBackups calls == page floor",
            backups_calls == page_floor,
            f"{backups_calls} == {page_floor}",
        ),
        Target("scale: MaxResults 50/25 on every call", not too_big, f"{len(too_big)} off"),
        Target(
            "scale: every backup counted, complete",
            report.backups_scanned == total and not report.errors and seen == 2 * total,
            f"{report.backups_scanned:,}/{total:,}",
        ),
        *retry_targets,
    ], figures


def retry_modes(
    server: ServerProcess, latency: float, now: datetime, roles: list[str], total: int
) -> tuple[list[Target], list[str]]:
    lines = ["", "== Every 7th CloudHSM call throttled: botocore retry modes"]
    completed: dict[str, float] = {}
    for mode in ("standard", "adaptive"):
        server.reset(latency, throttle_every=7)
        started = time.monotonic()
        report = scan(request(server.url, now, REGIONS, role_arns=roles, retry_mode=mode))
        wall = time.monotonic() - started
        calls = [c for c in server.calls() if c[0].startswith("Describe")]
        throttled = len(calls) // 7
        complete = report.backups_scanned == total and not report.errors
        lines.append(
            f"  {mode:<9}: {wall:6.2f} s, {len(calls)} calls ({throttled} throttled), "
            f"{report.backups_scanned:,}/{total:,} backups, {len(report.errors)} errors"
        )
        if complete:
            completed[mode] = wall
    fastest = min(completed, key=completed.__getitem__) if completed else "none"
    lines.append(f"  faster mode that completes: {fastest}; default in constants.py: {RETRY_MODE}")
    return [
        Target("throttled: standard completes, all counted", "standard" in completed, ""),
        Target("throttled: adaptive completes, all counted", "adaptive" in completed, ""),
        Target(
            "throttled: default RETRY_MODE is the faster",
            fastest == RETRY_MODE,
            f"default {RETRY_MODE}, faster {fastest}",
        ),
    ], lines


def memory_targets() -> list[Target]:
    say()
    say("== Peak memory of the fold (tracemalloc), compliant backups")
    small, small_count, small_status = memory.peak_bytes(1_000)
    large, large_count, large_status = memory.peak_bytes(100_000)
    growth = large - small
    say(f"  {small_count:>7,} backups: {small / MIB:6.2f} MiB peak ({small_status})")
    say(f"  {large_count:>7,} backups: {large / MIB:6.2f} MiB peak ({large_status})")
    say(
        f"  growth: {growth / MIB:.2f} MiB, {growth / (large_count - small_count):.0f} bytes "
        "a backup (the de-duplication index)"
    )
    return [
        Target(
            "memory: peak(100k) - peak(1k) <= 20 MiB",
            growth <= 20 * MIB,
            f"{growth / MIB:.1f} MiB",
        )
    ]


def one_lambda(figures: dict[str, float]) -> None:
    """What fits in one invocation at 150 ms a call, from the measured per-page overhead."""
    overhead = max(figures["per_page"] - figures["latency"], 0.0)
    reading = LAMBDA_SECONDS - TIME_RESERVE_SECONDS
    per_call = AT_150_MS + overhead
    pages = int(reading / per_call)
    calls = DEFAULT_MAX_WORKERS * pages
    regions = len(all_regions())
    startup = figures["startup_per_account"]
    accounts = int(reading / 2 / (startup + AT_150_MS))
    say()
    say("== One 15-minute Lambda at 150 ms a call (derived from the figures above)")
    say(
        f"  per call      : 150 ms + {overhead * 1000:.0f} ms measured overhead "
        f"= {per_call * 1000:.0f} ms"
    )
    say(f"  reading time  : {LAMBDA_SECONDS} s - {TIME_RESERVE_SECONDS} s reserve = {reading} s")
    say(
        f"  one listing   : {reading} s / {per_call:.3f} s = {pages:,} pages x 50 "
        f"= {pages * 50:,} backups in one account-region"
    )
    say(
        f"  whole run     : {DEFAULT_MAX_WORKERS} workers x {pages:,} = {calls:,} calls; "
        f"an account-region costs 3 + backups/50"
    )
    say(
        f"  --region all  : {regions} regions x 3 calls = {regions * 3} calls an account "
        f"at the least"
    )
    say(
        f"  start-up      : {startup:.2f} s an account measured at {figures['latency'] * 1000:.0f}"
        f" ms; half the time on start-up allows {accounts:,} accounts"
    )
    say(
        f"  client CPU    : {figures['cpu_per_call'] * 1000:.1f} ms a call x "
        f"{DEFAULT_MAX_WORKERS / per_call:.0f} calls/s = "
        f"{DEFAULT_MAX_WORKERS / per_call * figures['cpu_per_call']:.2f} of one vCPU"
    )
    cpu_calls = LAMBDA_512_MIB_VCPU / figures["cpu_per_call"]
    say(
        f"  at 512 MiB    : {LAMBDA_512_MIB_VCPU:.2f} vCPU / {figures['cpu_per_call'] * 1000:.1f} "
        f"ms = {cpu_calls:.0f} calls/s; x {reading} s = {int(cpu_calls * reading):,} calls in all"
    )


def changes_targets() -> list[Target]:
    say("== What changed between two runs, and the digest (pure engine, this machine)")
    figures = changes.measure()
    for name, _, detail in figures:
        say(f"  {name}: {detail}")
    return [Target(name, passed, detail) for name, passed, detail in figures]


def evidence_targets() -> list[Target]:
    say("== An evidence page of a year of daily reports (pure engine and rendering)")
    figures = evidence.measure()
    for name, _, detail in figures:
        say(f"  {name}: {detail}")
    return [Target(name, passed, detail) for name, passed, detail in figures]


def fix_plan_targets() -> list[Target]:
    say("== Fix plan from a stored report (pure engine, this machine)")
    figures = fix_plan.measure()
    for name, _, detail in figures:
        say(f"  {name}: {detail}")
    return [Target(name, passed, detail) for name, passed, detail in figures]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per call (0.1)")
    parser.add_argument(
        "--backups", type=int, default=10_000, help="backups in the overhead comparison (10,000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each timed scan, best kept (3)"
    )
    parser.add_argument(
        "--scale-rounds",
        type=int,
        default=5,
        help="rounds of the many-accounts scan, best kept (5)",
    )
    parser.add_argument(
        "--skip-speed", action="store_true", help="leave out the overhead comparison"
    )
    parser.add_argument(
        "--org-accounts",
        type=int,
        default=fanout.ORG_ACCOUNTS,
        help=f"accounts in the simulated organization ({fanout.ORG_ACCOUNTS:,})",
    )
    parser.add_argument(
        "--section",
        choices=["all", "changes", "fanout", "evidence", "fix"],
        default="all",
        help="run every section (all), only what changed and the digest (changes), "
        "only the merge and the organization fan-out (fanout), the evidence page of a "
        "year (evidence), or the fix plan (fix)",
    )
    args = parser.parse_args(argv)
    isolate_from_real_aws()
    now = datetime.now(UTC)
    started = time.monotonic()
    targets: list[Target] = []
    if args.section == "all":
        targets += [] if args.skip_speed else speed(args.backups, args.rounds, now)
        scale_targets, figures = scale(args.latency, args.scale_rounds, now)
        targets += scale_targets
        targets += memory_targets()
        one_lambda(figures)
    if args.section in ("all", "changes"):
        targets += changes_targets()
    if args.section in ("all", "evidence"):
        targets += evidence_targets()
    if args.section in ("all", "fix"):
        targets += fix_plan_targets()
    if args.section in ("all", "fanout"):
        targets += [Target(*target) for target in fanout.run(say, args.latency, args.org_accounts)]
    say()
    say(f"== Targets ({time.monotonic() - started:.0f} s in all)")
    for target in targets:
        say(f"  {'PASS' if target.passed else 'FAIL'}  {target.name}  {target.detail}")
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())

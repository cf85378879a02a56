"""How one entry of the digest reads: a finding, a resolved finding, or a block of one rule.

A block states only what every member shares: its clusters with a count each, the parts of
the message all members have in common (dates and numbers that differ become a range),
and one command that fixes the whole block. A copy is placed in its own region and its
cluster in its source's region. No command names a cluster that is deleted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any

from ..constants import SERVICE_NAME
from .digest_sections import Entry, clean, plural

CLUSTER_LINES = 8  # a block lists at most this many clusters, then says how many more
MESSAGE_LINES = 2  # at most this many distinct messages of one block
EXAMPLE_IDS = 2
_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?|\d+(?:\.\d+)?")


def _home(item: Any) -> str:
    """The region of the item's cluster: a copy's source region, else its own."""
    return str(getattr(item, "source_region", None) or item.region)


def _cluster_place(item: Any) -> str:
    """`cluster c  region  account`, with `copy in <region>` for a copy."""
    cluster = clean(item.cluster_id, 80)
    home = clean(_home(item), 30)
    copy = f"  copy in {clean(item.region, 30)}" if _home(item) != item.region else ""
    gone = "  (cluster deleted)" if getattr(item, "cluster_deleted", False) else ""
    return f"cluster {cluster}  {home}  {clean(item.account_id, 20)}{copy}{gone}"


def where(item: Any) -> str:
    """`backup-x  cluster c  region  account` for a backup, `cluster c  ...` for a cluster."""
    if item.backup_id:
        return f"{clean(item.backup_id, 80)}  {_cluster_place(item)}"
    return _cluster_place(item)


def _unit(items: Sequence[Any]) -> str:
    return "backup" if any(item.backup_id for item in items) else "cluster"


def _clusters(items: Sequence[Any]) -> dict[tuple[str, str, str, str], list[Any]]:
    """Per cluster (account, the cluster's region, cluster, the item's region), in order."""
    out: dict[tuple[str, str, str, str], list[Any]] = {}
    for item in items:
        out.setdefault((item.account_id, _home(item), item.cluster_id, item.region), []).append(
            item
        )
    return out


def _span(values: list[str]) -> str:
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    if all("-" in v for v in distinct):  # dates: ISO text sorts as time does
        return f"{min(distinct)} to {max(distinct)}"
    numbers = sorted(float(v) for v in distinct)
    low, high = (f"{n:g}" for n in (numbers[0], numbers[-1]))
    return f"{low}-{high}"


def shared_message(messages: Sequence[str]) -> list[tuple[int, str]]:
    """(how many, text) per shape of message: values that differ within a shape (dates,
    numbers) become a range; at most MESSAGE_LINES shapes, the most common first."""
    shapes: dict[tuple[str, ...], list[list[str]]] = {}
    for message in messages:
        shapes.setdefault(tuple(_VALUE.split(message)), []).append(_VALUE.findall(message))
    ranked = sorted(shapes.items(), key=lambda item: -len(item[1]))
    out: list[tuple[int, str]] = []
    for literals, values in ranked[:MESSAGE_LINES]:
        spans = [_span([v[n] for v in values]) for n in range(len(literals) - 1)]
        text = literals[0] + "".join(s + lit for s, lit in zip(spans, literals[1:], strict=True))
        out.append((len(values), text))
    return out


def _message_lines(items: Sequence[Any]) -> list[str]:
    shapes = shared_message([item.message for item in items])
    if len(shapes) == 1:
        return [f"    {clean(shapes[0][1], 300)}"]
    lines = [f"    {plural(count, _unit(items))}: {clean(text, 300)}" for count, text in shapes]
    rest = len(items) - sum(count for count, _ in shapes)
    if rest:
        lines[-1] += f" (and {rest:,} with other messages)"
    return lines


def fix_command(report_url: str | None, rule: str, items: Sequence[Any]) -> str | None:
    """`hsm-backup-audit fix s3://... --rule R [--cluster C]`: the whole block, when the report
    is in S3. `--cluster` only for one cluster that exists (never a deleted one)."""
    if not report_url or not report_url.startswith("s3://"):
        return None
    command = f"{SERVICE_NAME} fix {shlex.quote(report_url)} --rule {shlex.quote(rule)}"
    clusters = {(item.account_id, _home(item), item.cluster_id) for item in items}
    first = items[0]
    if len(clusters) == 1 and not getattr(first, "cluster_deleted", False):
        command += f" --cluster {shlex.quote(first.cluster_id)}"
    return clean(command, 1200)


def finding_block(entry: Entry, label: str, report_url: str | None) -> list[str]:
    """One finding (its place, message, fix and tags), or a block of one rule."""
    first = entry[0]
    if len(entry) == 1:
        shared = "  (shared)" if first.shared else ""
        lines = [f"  {label}{clean(first.rule, 40)}  {where(first)}{shared}"]
        lines += [f"    {clean(first.message, 300)}", f"    fix: {clean(first.remediation, 400)}"]
        if first.tags:
            tags = ", ".join(f"{clean(k, 64)}={clean(v, 64)}" for k, v in first.tags)
            lines.append(f"    tags: {clean(tags, 300)}")
        return lines
    clusters = _clusters(entry)
    unit = _unit(entry)
    head = f"{plural(len(entry), unit)}"
    if unit == "backup":
        head += f" in {plural(len({k[:3] for k in clusters}), 'cluster')}"
    lines = [f"  {label}{clean(first.rule, 40)}: {head}"]
    for number, members in enumerate(clusters.values()):
        if number == CLUSTER_LINES:
            lines.append(f"    ... and {len(clusters) - CLUSTER_LINES:,} more (all in the report)")
            break
        count = f": {plural(len(members), unit)}" if unit == "backup" else ""
        ids = ", ".join(clean(m.backup_id, 80) for m in members[:EXAMPLE_IDS] if m.backup_id)
        more = ", ..." if len(members) > EXAMPLE_IDS else ""
        shown = f" ({ids}{more})" if ids else ""
        lines.append(f"    {_cluster_place(members[0])}{count}{shown}")
    lines += _message_lines(entry)
    # An INFO finding is undone one by one if at all (a pending deletion is restored only
    # when it was a mistake): no command for them all.
    informational = str(getattr(first.severity, "name", first.severity)) == "INFO"
    command = None if informational else fix_command(report_url, first.rule, entry)
    one = clean(first.remediation, 400)
    if command and not all(item.shared for item in entry):
        lines += [f"    fix: {command}", f"    or one at a time, e.g.: {one}"]
    else:
        lines.append(f"    fix: each one, e.g.: {one}")
    return lines


def resolved_block(entry: Entry, label: str, with_reason: bool = True) -> list[str]:
    """Resolved (or not checked) baseline findings: where, why, since when."""
    first = entry[0]
    severity = f"[{clean(first.severity, 8)}] {clean(first.rule, 40)}"
    if len(entry) == 1:
        why = f"{clean(first.reason, 40)}; " if with_reason else ""
        return [
            f"  {label}{severity}  {where(first)}  ({why}first seen {first.first_seen:%Y-%m-%d})"
        ]
    unit = _unit(entry)
    reasons: dict[str, int] = {}
    for item in entry:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    why = ", ".join(f"{clean(r, 40)} {n:,}" for r, n in sorted(reasons.items()))
    lines = [
        f"  {label}{severity}: {plural(len(entry), unit)}" + (f" ({why})" if with_reason else "")
    ]
    clusters = _clusters(entry)
    for number, members in enumerate(clusters.values()):
        if number == CLUSTER_LINES:
            lines.append(f"    ... and {len(clusters) - CLUSTER_LINES:,} more (all in the report)")
            break
        count = f": {plural(len(members), unit)}" if unit == "backup" else ""
        lines.append(f"    {_cluster_place(members[0])}{count}")
    return lines

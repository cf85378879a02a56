"""Fix-plan figures: the time (best of 3, CPU) and memory (tracemalloc peak) to plan from
a stored report of 100,000 findings, read back from its JSON text as `fix` reads it, and
to render the plan as JSON. The same fleet as the what-changed figures (changes.py):
mode, never-expires and hsm-type findings by cluster, every deletion planned (--delete)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from hsm_backup_audit.engine.baseline import parse_baseline
from hsm_backup_audit.engine.fix_render import plan_json
from hsm_backup_audit.engine.remediation import plan_fixes
from hsm_backup_audit.engine.report import to_json

from .changes import MONDAY, Figure, _best, _peak_mib, run_of

SECONDS, MIB_AT_MOST = 2.0, 500
NOW = datetime(2026, 12, 6, tzinfo=UTC)
REAL_LOOKING = str.maketrans("0123456789", "abcdefghij")


def measure(findings: int = 100_000) -> list[Figure]:
    document = json.loads(to_json(run_of(range(findings), MONDAY)))
    for finding in document["findings"]:  # ids the API accepts (no 0, 1, 8 or 9)
        finding["backup_id"] = finding["backup_id"].translate(REAL_LOOKING)
    raw = json.dumps(document).encode()
    today = date(2026, 12, 6)

    def plan() -> None:
        plan_fixes(parse_baseline(raw, NOW), delete=True, today=today)

    document = parse_baseline(raw, NOW)
    made = plan_fixes(document, delete=True, today=today)
    assert len(made.actions) == findings, len(made.actions)
    (plan_s, plan_wall), plan_mib = _best(plan), _peak_mib(plan)
    render_s, render_wall = _best(lambda: plan_json(made))
    n = f"{findings:,}"
    size_mib = len(raw) / 2**20
    return [
        (
            f"fix plan from a {n}-finding report ({size_mib:.0f} MiB JSON), parse included, "
            f"<= {SECONDS:.0f} s and {MIB_AT_MOST} MiB",
            plan_s <= SECONDS and plan_mib <= MIB_AT_MOST,
            f"{plan_s:.2f} s CPU ({plan_wall:.2f} s wall), {plan_mib:.0f} MiB peak, "
            f"{len(made.actions):,} actions; JSON plan rendered in {render_s:.2f} s CPU "
            f"({render_wall:.2f} s wall)",
        ),
    ]


if __name__ == "__main__":
    for name, passed, detail in measure():
        print(f"{'PASS' if passed else 'FAIL'}  {name}  {detail}")

"""The fix plan's three faces: text for a person, the JSON document, and shell (the
equivalent AWS CLI commands, one per line, every id quoted). Pure."""

from __future__ import annotations

import json

from .model import safe_text
from .remediation import Plan, quoted


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"


def plan_text(plan: Plan) -> str:
    lines = [
        f"Fix plan: {len(plan.actions)} action(s), {len(plan.skipped)} skipped, "
        f"{len(plan.consider)} to consider (no action)."
    ]
    if plan.actions:
        lines.append("Actions:")
    for action in plan.actions:
        lines.append(
            f"  {action.action} ({', '.join(action.rules)}) {action.backup_id} "
            f"account {action.account_id} {action.region} cluster {safe_text(action.cluster_id)}"
        )
        lines.append(f"    undo: {action.undo}")
    if plan.skipped:
        lines.append("Skipped (never touched):")
    for skip in plan.skipped:
        lines.append(
            f"  {safe_text(skip.backup_id)} ({safe_text(skip.rule)}, account "
            f"{safe_text(skip.account_id)} {safe_text(skip.region)}): {skip.reason}"
        )
    if plan.consider:
        lines.append("To consider (no action is taken for these rules):")
    for entry in plan.consider:
        subject = entry["backup_id"] or entry["cluster_id"]
        lines.append(
            f"  {safe_text(entry['rule'])} {safe_text(subject)} account "
            f"{safe_text(entry['account_id'])} {safe_text(entry['region'])}"
        )
        lines.append(f"    {safe_text(entry['command'], 400)}")
    return "\n".join(lines) + "\n"


def plan_shell(plan: Plan) -> str:
    """Commands first, grouped by account (each needs that account's credentials); what
    is skipped or only to consider follows as comments, never as a command."""
    lines: list[str] = []
    account = None
    for action in sorted(plan.actions, key=lambda a: a.account_id):
        if action.account_id != account:
            account = action.account_id
            lines.append(f"# account {quoted(account)}")
        lines.append(action.command)
    for skip in plan.skipped:
        lines.append(f"# skipped {safe_text(skip.backup_id)}: {skip.reason}")
    for entry in plan.consider:
        lines.append(f"# consider: {safe_text(entry['command'], 400)}")
    return "\n".join(lines) + "\n" if lines else ""

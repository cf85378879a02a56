"""The fix plan: from a stored report document to the actions `fix` may take, and the
backups it must not touch, each with its reason. Pure: no AWS here (aws/remediation.py
makes the calls and keeps the journal).

Safety rails, checked in this order (the first that holds is the reason shown):
a shared backup (another account's); a backup in an account or region the report did not
read completely; a backup under a current exemption; the cluster's newest READY backup
while the cluster is listed and not deleted (its last restore point); an id the API would
refuse. A deletion without `--delete` is neither planned nor skipped: it is listed under
`consider` with the command it would run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ..constants import RULES_IN_REPORT_ORDER, Rule
from .fix_rails import Unread, exemption_reason
from .policy import Policy

MODIFY, DELETE = "modify-backup-attributes", "delete-backup"
ACTION_OF_RULE: dict[str, str] = {
    Rule.NEVER_EXPIRES: MODIFY,
    Rule.OVERDUE: DELETE,
    Rule.MODE: DELETE,
    Rule.HSM_TYPE: DELETE,
}
# What the API accepts as a BackupId (botocore's model): anything else is never sent.
BACKUP_ID_PATTERN = re.compile(r"backup-[2-7a-zA-Z]{11,16}")
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
ACCOUNT_PATTERN = re.compile(r"\d{12}")

SHARED = "shared: the backup belongs to another account (ask its owner to act)"
LAST_RESTORE_POINT = (
    "the cluster's newest READY backup while the cluster exists (its last restore point)"
)
NEEDS_DELETE = "deletion needs --delete"
BAD_ID = "not a backup id the API accepts"


class PlanError(ValueError):
    """A document that is not a report to plan from (one line)."""


@dataclass(frozen=True)
class Filters:
    """Each one repeatable; empty means any."""

    rules: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    backup_ids: tuple[str, ...] = ()

    def keep(self, finding: Mapping[str, Any]) -> bool:
        pairs = (
            (self.rules, finding.get("rule")),
            (self.accounts, finding.get("account_id")),
            (self.regions, finding.get("region")),
            (self.clusters, finding.get("cluster_id")),
            (self.backup_ids, finding.get("backup_id")),
        )
        return all(not wanted or value in wanted for wanted, value in pairs)


@dataclass(frozen=True)
class Action:
    action: str  # MODIFY or DELETE
    rule: str  # the first of `rules` in report order
    account_id: str
    region: str
    cluster_id: str
    backup_id: str
    rules: tuple[str, ...]
    undo: str  # the AWS CLI command that reverses it

    @property
    def key(self) -> str:
        """Stable across runs: what the journal knows an action by."""
        return f"{self.action}:{self.account_id}:{self.region}:{self.backup_id}"

    @property
    def command(self) -> str:
        flag = " --no-never-expires" if self.action == MODIFY else ""
        return (
            f"aws cloudhsmv2 {self.action} --backup-id {quoted(self.backup_id)}{flag} "
            f"--region {quoted(self.region)}"
        )

    def to_dict(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["rules"] = list(self.rules)
        entry["command"] = self.command
        return entry


@dataclass(frozen=True)
class Skipped:
    backup_id: str | None
    reason: str
    rule: str
    account_id: str
    region: str
    cluster_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # Rules with no action: the command to consider, as the report gave it.
    consider: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": [a.to_dict() for a in self.actions],
            "skipped": [s.to_dict() for s in self.skipped],
            "consider": self.consider,
        }


def quoted(value: str) -> str:
    """Always single-quoted, so every id is one shell word whatever it holds."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def undo_command(action: str, backup_id: str, region: str) -> str:
    if action == MODIFY:
        return (
            f"aws cloudhsmv2 modify-backup-attributes --backup-id {quoted(backup_id)} "
            f"--never-expires --region {quoted(region)}"
        )
    return (
        f"aws cloudhsmv2 restore-backup --backup-id {quoted(backup_id)} "
        f"--region {quoted(region)} (within 7 days of the deletion)"
    )


def _findings(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise PlanError("not a hsm-backup-audit report (schema_version 1)")
    if not isinstance(document.get("errors", []), list):  # fail closed: never "no errors"
        raise PlanError("not a hsm-backup-audit report: errors is not a list")
    findings = document.get("findings")
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        raise PlanError("not a hsm-backup-audit report: findings is not a list of objects")
    keys = ("rule", "account_id", "region", "cluster_id", "backup_id", "shared")
    for finding in findings:
        if any(key not in finding for key in keys):
            raise PlanError("not a hsm-backup-audit report: a finding lacks " + ", ".join(keys))
    return findings


def _rail(
    finding: Mapping[str, Any],
    unread: Unread,
    policy: Policy | None,
    today: date,
    delete: bool,
) -> str | None:
    """Why this finding's backup must not be touched, or None."""
    account, region = str(finding["account_id"]), str(finding["region"])
    if finding["shared"] is not False:
        return SHARED
    reason = unread.reason(account, region)
    if reason is not None:
        return reason
    reason = exemption_reason(policy, finding, today)
    if reason is not None:
        return reason
    if finding.get("last_restore_point") is True:
        return LAST_RESTORE_POINT
    backup_id = finding["backup_id"]
    if not (
        isinstance(backup_id, str)
        and BACKUP_ID_PATTERN.fullmatch(backup_id)
        and REGION_PATTERN.fullmatch(region)
        and ACCOUNT_PATTERN.fullmatch(account)
    ):
        return BAD_ID
    if ACTION_OF_RULE[finding["rule"]] == DELETE and not delete:
        return NEEDS_DELETE
    return None


def plan_fixes(
    document: Any,
    filters: Filters = Filters(),
    *,
    delete: bool = False,
    policy: Policy | None = None,
    today: date,
) -> Plan:
    """The plan for the findings `filters` keeps. One action per backup and kind (a backup
    both NON_FIPS and overdue is deleted once); a backup that any of its findings rules out
    is skipped for all of them."""
    unread = Unread(document if isinstance(document, dict) else {})
    plan = Plan()
    grouped: dict[tuple[str, str, str, str], list[tuple[str, dict[str, Any]]]] = {}
    blocked: dict[tuple[str, str, str], str] = {}
    for finding in sorted(_findings(document), key=_report_order):
        if not filters.keep(finding):
            continue
        rule = finding["rule"]
        if rule not in ACTION_OF_RULE:
            plan.consider.append(_consider(finding))
            continue
        reason = _rail(finding, unread, policy, today, delete)
        where = (str(finding["account_id"]), str(finding["region"]), str(finding["backup_id"]))
        if reason == NEEDS_DELETE:  # not skipped: a command to consider, as the report's
            plan.consider.append(_consider(finding, reason))
            continue
        if reason is not None:
            plan.skipped.append(_skipped(finding, reason))
            blocked.setdefault(where, reason)
            continue
        grouped.setdefault((ACTION_OF_RULE[rule], *where), []).append((rule, finding))
    for (action, account, region, backup_id), entries in grouped.items():
        reason = blocked.get((account, region, backup_id))
        if reason is not None:  # another finding of the same backup rules it out
            plan.skipped.extend(_skipped(finding, reason) for _, finding in entries)
            continue
        plan.actions.append(
            Action(
                action=action,
                rule=entries[0][0],
                account_id=account,
                region=region,
                cluster_id=str(entries[0][1]["cluster_id"]),
                backup_id=backup_id,
                rules=tuple(rule for rule, _ in entries),
                undo=undo_command(action, backup_id, region),
            )
        )
    return plan


def _report_order(finding: Mapping[str, Any]) -> tuple[Any, ...]:
    rule = finding.get("rule")
    order = RULES_IN_REPORT_ORDER.index(rule) if rule in RULES_IN_REPORT_ORDER else 99
    return (
        order,
        str(finding.get("account_id")),
        str(finding.get("region")),
        str(finding.get("backup_id")),
    )


def _skipped(finding: Mapping[str, Any], reason: str) -> Skipped:
    return Skipped(
        backup_id=finding["backup_id"],
        reason=reason,
        rule=str(finding["rule"]),
        account_id=str(finding["account_id"]),
        region=str(finding["region"]),
        cluster_id=str(finding["cluster_id"]),
    )


def _consider(finding: Mapping[str, Any], reason: str | None = None) -> dict[str, Any]:
    keys = ("rule", "account_id", "region", "cluster_id", "backup_id")
    entry = {key: finding[key] for key in keys}
    if reason is None:
        entry["command"] = str(finding.get("remediation", ""))
    else:  # a deletion without --delete: the command it would run
        region, backup_id = str(finding["region"]), str(finding["backup_id"])
        entry["command"] = (
            f"aws cloudhsmv2 delete-backup --backup-id {quoted(backup_id)} "
            f"--region {quoted(region)}"
        )
        entry["reason"] = reason
    return entry

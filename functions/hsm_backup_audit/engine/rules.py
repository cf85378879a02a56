"""The rules: pure functions from records and a policy to findings. No AWS here."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from ..constants import (
    CLOCK_SKEW_SECONDS,
    CLUSTER_STATES_BEING_DELETED,
    KNOWN_BACKUP_STATES,
    RETENTION_DAYS_MAX,
    RULE_SEVERITY,
    STATE_DELETED,
    STATE_PENDING_DELETION,
    Rule,
)
from .model import BackupRecord, ClusterRecord, Finding, is_one_of, safe_text, shown
from .policy import Policy


def _finding(
    rule: Rule,
    subject: BackupRecord | ClusterRecord,
    message: str,
    remediation: str,
) -> Finding:
    backup = subject if isinstance(subject, BackupRecord) else None
    return Finding(
        rule=rule,
        severity=RULE_SEVERITY[rule],
        account_id=subject.account_id,
        region=subject.region,
        cluster_id=subject.cluster_id,
        backup_id=backup.backup_id if backup else None,
        shared=backup.shared if backup else False,
        message=message,
        remediation=remediation,
        tags=backup.tags if backup else (),
        resource_arn=backup.arn if backup else None,
        mode=None if subject.mode is None else shown(subject.mode),
        hsm_type=None if subject.hsm_type is None else shown(subject.hsm_type),
        cluster_ref=subject.cluster_ref,
        backup_ref=backup.backup_ref if backup else None,
        source_region=backup.source_region if backup else None,
    )


SHARED_NOTE = " (shared with this account: ask the owning account to act)"


def _owner_note(backup: BackupRecord) -> str:
    return SHARED_NOTE if backup.shared else ""


def _age_days(moment: datetime, now: datetime) -> float:
    return (now - moment).total_seconds() / 86400


def _q(value: str) -> str:
    """A value as one shell word: an id an account member chose cannot add to a command
    someone pastes (spaces, `;`, `$(...)` are quoted)."""
    return shlex.quote(value)


def in_future(moment: datetime, now: datetime) -> bool:
    """Later than now beyond clock skew: such a timestamp proves nothing (not freshness)."""
    return (moment - now).total_seconds() > CLOCK_SKEW_SECONDS


def _said(name: str, value: object) -> str:
    return f"{name} is not reported" if value is None else f"{name} {shown(value)}"


def backup_findings(backup: BackupRecord, policy: Policy) -> Iterator[Finding]:
    """The rules that need nothing but the backup itself."""
    region, bid = backup.region, backup.backup_id
    if backup.state == STATE_DELETED:
        return
    if backup.state == STATE_PENDING_DELETION:
        when = backup.delete_at.strftime("%Y-%m-%d %H:%M UTC") if backup.delete_at else "soon"
        yield _finding(
            Rule.PENDING_DELETION,
            backup,
            f"Pending deletion; permanently deleted {when}.",
            "If it was deleted by mistake, restore it before then: "
            f"aws cloudhsmv2 restore-backup --backup-id {_q(bid)} --region {_q(region)}",
        )
        return
    if not is_one_of(backup.state, KNOWN_BACKUP_STATES):
        said = _said("BackupState", backup.state)
        yield _finding(
            Rule.UNKNOWN_STATE,
            backup,
            f"{said}: not a state this audit knows, so the backup cannot count as compliant "
            "(it was judged by every other rule too).",
            f"Check the backup by hand: aws cloudhsmv2 describe-backups "
            f"--filters backupIds={_q(bid)} --region {_q(region)}",
        )
    if backup.never_expires is not False and not policy.allow_never_expires:
        said = "NeverExpires is true" if backup.never_expires else "NeverExpires is not reported"
        yield _finding(
            Rule.NEVER_EXPIRES,
            backup,
            f"{said}: the backup escapes the cluster's retention policy.",
            "aws cloudhsmv2 modify-backup-attributes --no-never-expires "
            f"--backup-id {_q(bid)} --region {_q(region)}{_owner_note(backup)}",
        )
    if not is_one_of(backup.mode, policy.allowed_modes):
        said = _said("Mode", backup.mode)
        yield _finding(
            Rule.MODE,
            backup,
            f"{said}; the policy allows {', '.join(policy.allowed_modes)}.",
            "Delete it once no restore needs it: "
            f"aws cloudhsmv2 delete-backup --backup-id {_q(bid)} --region {_q(region)}"
            f"{_owner_note(backup)}",
        )
    if not is_one_of(backup.hsm_type, policy.allowed_hsm_types):
        said = _said("HsmType", backup.hsm_type)
        wanted = policy.allowed_hsm_types[0]
        home = backup.source_region or region  # a copy's cluster is in its source region
        yield _finding(
            Rule.HSM_TYPE,
            backup,
            f"{said}; the policy allows {', '.join(policy.allowed_hsm_types)}.",
            "Migrate the cluster, then delete old backups: aws cloudhsmv2 modify-cluster "
            f"--cluster-id {_q(backup.cluster_id)} --hsm-type {_q(wanted)} --region {_q(home)}"
            f"{_owner_note(backup)}",
        )


def overdue_limit_days(
    backup: BackupRecord,
    cluster: ClusterRecord | None,
    policy: Policy,
    clusters_unknown: bool = False,
) -> tuple[float, str]:
    """How old this backup may be, and why. Only for backups the retention applies to."""
    if backup.is_copy:
        return float(policy.max_copy_age_days), (
            f"a cross-region copy may be at most {policy.max_copy_age_days} days old"
        )
    if cluster is not None and cluster.retention_days is not None:
        limit = cluster.retention_days + policy.overdue_grace_days
        return float(limit), (
            f"cluster retention is {cluster.retention_days} days "
            f"plus {policy.overdue_grace_days} days' grace"
        )
    if cluster is None and clusters_unknown:
        # The cluster listing failed: its retention could be anything the API allows.
        limit = RETENTION_DAYS_MAX + policy.overdue_grace_days
        return float(limit), (
            "the clusters could not be listed here, and no retention the API allows "
            f"keeps a backup past {limit} days"
        )
    limit = policy.max_retention_days + policy.overdue_grace_days
    return float(limit), (
        "the cluster's retention is not visible here, and no retention the policy allows "
        f"keeps a backup past {limit} days"
    )


def overdue_candidate(
    backup: BackupRecord,
    cluster: ClusterRecord | None,
    policy: Policy,
    now: datetime,
    clusters_unknown: bool = False,
) -> Finding | None:
    """An overdue finding for this backup, unless it is the newest of a cluster that exists
    (decided in the audit's finish(): the service keeps that one)."""
    if is_one_of(backup.state, (STATE_DELETED, STATE_PENDING_DELETION)) or backup.never_expires:
        return None
    limit, basis = overdue_limit_days(backup, cluster, policy, clusters_unknown)
    if backup.created is None:
        return _finding(
            Rule.OVERDUE,
            backup,
            "CreateTimestamp is not reported, so its age cannot be judged.",
            f"aws cloudhsmv2 describe-backups --filters backupIds={_q(backup.backup_id)} "
            f"--region {_q(backup.region)}",
        )
    if in_future(backup.created, now):
        return _finding(
            Rule.OVERDUE,
            backup,
            f"CreateTimestamp {backup.created:%Y-%m-%d %H:%M} UTC is in the future, "
            "so its age cannot be judged.",
            f"aws cloudhsmv2 describe-backups --filters backupIds={_q(backup.backup_id)} "
            f"--region {_q(backup.region)}",
        )
    age = _age_days(backup.created, now)
    if age <= limit:
        return None
    return _finding(
        Rule.OVERDUE,
        backup,
        f"{age:.0f} days old; {basis}.",
        f"aws cloudhsmv2 delete-backup --backup-id {_q(backup.backup_id)} "
        f"--region {_q(backup.region)}{_owner_note(backup)}",
    )


def cluster_findings(
    cluster: ClusterRecord,
    newest_ready: datetime | None,
    policy: Policy,
    now: datetime,
    backups_unseen: bool = False,
) -> Iterator[Finding]:
    """retention-policy and stale-cluster, for a cluster this account owns.

    `backups_unseen`: its backups could not all be read, so freshness is not judged
    (the run is INCOMPLETE and says why)."""
    cid, region = cluster.cluster_id, cluster.region
    days = cluster.retention_days
    if days is None or not policy.min_retention_days <= days <= policy.max_retention_days:
        said = f"{days} days" if days is not None else f"not set ({cluster.retention_text})"
        target = min(max(days or 0, policy.min_retention_days), policy.max_retention_days)
        yield _finding(
            Rule.RETENTION_POLICY,
            cluster,
            f"Backup retention is {said}; the policy wants "
            f"{policy.min_retention_days}-{policy.max_retention_days} days.",
            f"aws cloudhsmv2 modify-cluster --cluster-id {_q(cid)} "
            f"--backup-retention-policy Type=DAYS,Value={target} --region {_q(region)}",
        )
    if backups_unseen or is_one_of(cluster.state, CLUSTER_STATES_BEING_DELETED):
        return
    gap = timedelta(hours=policy.max_backup_gap_hours)
    if newest_ready is not None and now - newest_ready <= gap:
        return
    born = cluster.created
    if newest_ready is None and born is not None and not in_future(born, now) and now - born <= gap:
        return  # too young to owe a backup yet (a CreateTimestamp in the future proves nothing)
    if newest_ready is None:
        said = "The cluster has no READY backup"
    else:
        hours = (now - newest_ready).total_seconds() / 3600
        said = f"The cluster's newest READY backup is {hours:.0f} hours old"
    yield _finding(
        Rule.STALE_CLUSTER,
        cluster,
        f"{said}; the policy wants one within {policy.max_backup_gap_hours} hours.",
        "Check that the cluster has active HSMs (backups are taken only then): "
        f"aws cloudhsmv2 describe-clusters --filters clusterIds={_q(cid)} --region {_q(region)}",
    )


def on_deleted_cluster(finding: Finding) -> None:
    """Its cluster is gone: no fix may name the cluster. Only the backup itself can be acted on."""
    finding.cluster_deleted = True
    if finding.rule == Rule.HSM_TYPE and finding.backup_id is not None:
        finding.remediation = (
            "The cluster is deleted: delete this backup once no restore needs it: "
            f"aws cloudhsmv2 delete-backup --backup-id {_q(finding.backup_id)} "
            f"--region {_q(finding.region)}"
        )


def apply_exemptions(findings: Iterable[Finding], policy: Policy, today: date) -> list[Finding]:
    """Drop findings an active exemption covers; say so on those whose exemption expired."""
    kept: list[Finding] = []
    for finding in findings:
        # Matched on the raw ids: a lookalike ("backup-x\u200b") is not the backup exempted.
        backup_id = finding.backup_ref if finding.backup_ref is not None else finding.backup_id
        cluster_id = finding.cluster_ref if finding.cluster_ref is not None else finding.cluster_id
        if finding.backup_id is None:
            backup_id = None
        matching = [
            ex for ex in policy.exemptions if ex.covers(finding.rule, backup_id, cluster_id)
        ]
        if any(ex.expires >= today for ex in matching):
            continue
        if matching:
            last = max(matching, key=lambda ex: ex.expires)
            finding.message += (
                f" Exemption expired {last.expires.isoformat()} "
                f"(reason: {safe_text(last.reason, 80)})."
            )
        kept.append(finding)
    return kept

"""`fix` and `undo` end to end against the fleet server: plan, apply, rescan, undo; the
re-read before acting; resuming an interrupted journal; the exit codes."""

from __future__ import annotations

import io
import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.cloudhsmv2.models import Backup

from hsm_backup_audit.cli import main
from hsm_backup_audit.constants import ExitCode
from hsm_backup_audit.engine.digest_blocks import fix_command
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.server import Fault, FleetServer

FAST = ("--calls-per-second", "50")


def scan(capsys: pytest.CaptureFixture[str], url: str, path: Path) -> dict[str, Any]:
    main(["scan", "--format", "json", "--endpoint-url", url, "--region", PRIMARY])
    text = capsys.readouterr().out
    path.write_text(text)
    return dict(json.loads(text))


def fix(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["fix", *args, "--format", "json", *FAST])
    return code, json.loads(capsys.readouterr().out)


def rules_of(document: dict[str, Any], backup_id: str) -> set[str]:
    return {f["rule"] for f in document["findings"] if f["backup_id"] == backup_id}


class Estate:
    """One cluster: daily backups, one pinned (never expires), the newest pinned too (the
    cluster's last restore point), and an old NON_FIPS one."""

    def __init__(self, fleet: Fleet) -> None:
        now = datetime.now(UTC)
        self.fleet = fleet
        self.cluster = fleet.add_cluster(PRIMARY, retention_days=90)
        self.daily = fleet.add_daily_backups(PRIMARY, self.cluster, days=5, now=now)
        self.pinned = self.daily[3]
        self.newest = self.daily[0]
        backups = fleet.backend(PRIMARY).backups
        backups[self.pinned].never_expires = True
        backups[self.newest].never_expires = True
        self.non_fips = fleet.add_backup(
            PRIMARY, self.cluster, created=now - timedelta(days=10), mode="NON_FIPS"
        )

    def backup(self, backup_id: str) -> Backup:
        return self.fleet.backend(PRIMARY).backups[backup_id]


def test_plan_apply_rescan_undo(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, fleet = server_fleet
    estate = Estate(fleet)
    before = scan(capsys, url, tmp_path / "report.json")
    assert rules_of(before, estate.pinned) == {"never-expires"}
    report = str(tmp_path / "report.json")
    # When the plan is made (no call), then applied with --delete
    code, plan = fix(capsys, report, "--delete")
    assert code == ExitCode.COMPLIANT
    planned = {(a["action"], a["backup_id"]) for a in plan["actions"]}
    assert planned == {
        ("modify-backup-attributes", estate.pinned),
        ("delete-backup", estate.non_fips),
    }
    assert {s["backup_id"]: s["reason"] for s in plan["skipped"]} == {
        estate.newest: "the cluster's newest READY backup while the cluster exists "
        "(its last restore point)"
    }
    journal = str(tmp_path / "fix.jsonl")
    args = [report, "--delete", "--apply", "--journal", journal, "--endpoint-url", url]
    code, applied = fix(capsys, *args)
    # Then both are applied, the skipped one untouched, and the exit code says "skipped"
    assert code == ExitCode.NON_COMPLIANT
    assert {o["outcome"] for o in applied["outcomes"]} == {"applied"}
    assert estate.backup(estate.pinned).never_expires is False
    assert estate.backup(estate.non_fips).backup_state == "PENDING_DELETION"
    assert estate.backup(estate.newest).never_expires is True
    # And a rescan no longer finds them (the deleted one is reported pending deletion)
    after = scan(capsys, url, tmp_path / "after.json")
    assert rules_of(after, estate.pinned) == set()
    assert rules_of(after, estate.non_fips) == {"pending-deletion"}
    # When the same command runs again with the same journal, nothing is called again
    code, again = fix(capsys, *args)
    assert {o["reason"] for o in again["outcomes"]} == {"applied by an earlier run (journal)"}
    # When undone
    assert main(["undo", journal, "--endpoint-url", url, "--format", "json", *FAST]) == 0
    undone = json.loads(capsys.readouterr().out)["outcomes"]
    assert {o["outcome"] for o in undone} == {"undone"}
    # Then both are back as they were, and the rescan finds what the first scan found
    assert estate.backup(estate.pinned).never_expires is True
    assert estate.backup(estate.non_fips).backup_state == "READY"
    again_report = scan(capsys, url, tmp_path / "again.json")
    assert {f["id"] for f in again_report["findings"]} == {f["id"] for f in before["findings"]}


def test_backup_changed_since_the_report_is_skipped_on_the_re_read(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a report, after which someone unpins the backup and re-tags... and deletes another
    url, fleet = server_fleet
    estate = Estate(fleet)
    scan(capsys, url, tmp_path / "report.json")
    estate.backup(estate.pinned).never_expires = False
    estate.backup(estate.non_fips).backup_state = "PENDING_DELETION"
    journal = tmp_path / "fix.jsonl"
    code, applied = fix(
        capsys,
        str(tmp_path / "report.json"),
        "--delete",
        "--apply",
        "--journal",
        str(journal),
        "--endpoint-url",
        url,
    )
    # Then neither is acted on, each says what changed, and the exit code is 1
    assert code == ExitCode.NON_COMPLIANT
    reasons = {o["key"].split(":")[-1]: o["reason"] for o in applied["outcomes"]}
    assert reasons[estate.pinned] == "changed since the report: NeverExpires is no longer true"
    assert "BackupState is now PENDING_DELETION" in reasons[estate.non_fips]
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {e["event"] for e in entries} == {"after"}  # no call was announced


def test_interrupted_run_resumes_from_its_journal(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a run whose DeleteBackup call went through but whose answer was lost (the
    # journal holds its "before" entry only), and whose ModifyBackupAttributes failed
    url, fleet = server_fleet
    estate = Estate(fleet)
    scan(capsys, url, tmp_path / "report.json")
    journal = tmp_path / "fix.jsonl"
    args = [str(tmp_path / "report.json"), "--delete", "--apply", "--journal", str(journal)]
    args += ["--endpoint-url", url]
    fleet_server.layer.faults.append(Fault("deny", operation="ModifyBackupAttributes"))
    code, first = fix(capsys, *args)
    fleet_server.layer.faults.clear()
    assert code == ExitCode.INCOMPLETE
    assert {o["outcome"] for o in first["outcomes"]} == {"failed", "applied"}
    lines = journal.read_text().splitlines()
    cut = [line for line in lines if not ('"after"' in line and "delete-backup" in line)]
    journal.write_text("\n".join(cut) + '\n{"event": "after", "ke')  # cut mid-line
    # When the same command runs again
    fleet_server.layer.clear()
    code, second = fix(capsys, *args)
    # Then the deletion is recognised as done (no second DeleteBackup), the modify is made
    assert code == ExitCode.NON_COMPLIANT  # the last restore point is still skipped
    outcomes = {o["key"].split(":")[0]: o for o in second["outcomes"]}
    assert outcomes["delete-backup"]["reason"] == "applied by an earlier run (re-read)"
    assert outcomes["modify-backup-attributes"]["outcome"] == "applied"
    assert not fleet_server.layer.calls_to("DeleteBackup")
    # And undo restores both
    assert main(["undo", str(journal), "--endpoint-url", url, *FAST]) == ExitCode.COMPLIANT
    capsys.readouterr()
    assert estate.backup(estate.non_fips).backup_state == "READY"
    assert estate.backup(estate.pinned).never_expires is True


def test_undo_says_what_can_no_longer_be_undone(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, fleet = server_fleet
    estate = Estate(fleet)
    scan(capsys, url, tmp_path / "report.json")
    journal = str(tmp_path / "fix.jsonl")
    args = [str(tmp_path / "report.json"), "--rule", "mode", "--delete", "--apply"]
    fix(capsys, *args, "--journal", journal, "--endpoint-url", url)
    # Given the deletion is eight days old
    yesterday = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)  # moto: naive UTC
    estate.backup(estate.non_fips).delete_timestamp = yesterday  # type: ignore[assignment]
    code = main(["undo", journal, "--endpoint-url", url, *FAST])
    out = capsys.readouterr().out
    assert code == ExitCode.NON_COMPLIANT
    assert "not-undone delete-backup" in out
    assert "can no longer be undone" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--apply"], "--apply needs --journal"),
        (["--journal", "j.jsonl"], "only used with --apply"),
        (["--format", "shell", "--apply", "--journal", "j"], "not with --apply"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"schema_version": 1, "findings": [], "errors": []}))
    assert main(["fix", str(report), *args]) == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_not_a_report_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.json").write_text("[]")
    assert main(["fix", str(tmp_path / "r.json")]) == ExitCode.USAGE
    assert "not a hsm-backup-audit report" in capsys.readouterr().err


def test_apply_rechecks_the_last_restore_point_when_the_report_does_not_mark_it(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a report that does not mark the newest READY backup (an older report)
    url, fleet = server_fleet
    estate = Estate(fleet)
    report = tmp_path / "report.json"
    document = scan(capsys, url, report)
    for finding in document["findings"]:
        finding.pop("last_restore_point", None)
    report.write_text(json.dumps(document))
    code, plan = fix(capsys, str(report))
    assert estate.newest in {a["backup_id"] for a in plan["actions"]}
    # When it is applied
    journal = str(tmp_path / "fix.jsonl")
    fleet_server.layer.clear()
    code, applied = fix(capsys, str(report), "--apply", "--journal", journal, "--endpoint-url", url)
    # Then the re-read of the cluster finds it and leaves it alone
    reasons = {o["key"].split(":")[-1]: o["reason"] for o in applied["outcomes"]}
    assert reasons[estate.newest].startswith("now the cluster's newest READY backup")
    assert estate.backup(estate.newest).never_expires is True
    assert estate.backup(estate.pinned).never_expires is False
    assert code == ExitCode.NON_COMPLIANT
    # And the cluster's READY backups were asked for with the API's own filters
    asked = [c.params.get("Filters") for c in fleet_server.layer.calls_to("DescribeBackups")]
    assert {"clusterIds": [estate.cluster], "states": ["READY"]} in asked


def test_report_from_s3_and_stdin_as_the_digest_prints_it(
    server_fleet: tuple[str, Fleet],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Given the report stored in S3 as the Lambda stores it
    url, fleet = server_fleet
    estate = Estate(fleet)
    document = scan(capsys, url, tmp_path / "report.json")
    s3 = boto3.client("s3", endpoint_url=url, region_name=PRIMARY)
    s3.create_bucket(Bucket="audit-reports")
    key = "reports/123456789012/2026/12/06/run.json"
    s3.put_object(Bucket="audit-reports", Key=key, Body=json.dumps(document).encode())
    # When the command the digest prints for the group runs, and the same from stdin
    source = f"s3://audit-reports/{key}"
    group = [
        SimpleNamespace(**f)
        for f in document["findings"]
        if f["rule"] == "never-expires" and f["cluster_id"] == estate.cluster
    ]
    printed = fix_command(source, "never-expires", group)
    assert printed is not None
    words = shlex.split(printed)
    assert words[:2] == ["hsm-backup-audit", "fix"]
    code, from_s3 = fix(capsys, *words[2:], "--endpoint-url", url)
    narrow = ["--rule", "never-expires", "--cluster", estate.cluster, "--endpoint-url", url]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(document).encode())))
    code_stdin, from_stdin = fix(capsys, "-", *narrow)
    # Then both plan the same one action
    assert code == code_stdin == ExitCode.COMPLIANT
    assert from_s3 == from_stdin
    assert [a["backup_id"] for a in from_s3["actions"]] == [estate.pinned]
    # And a missing object is one line and exit 2
    assert main(["fix", "s3://audit-reports/nope.json", "--endpoint-url", url]) == 2
    assert "cannot read it: NoSuchKey" in capsys.readouterr().err


def test_member_account_through_its_role(
    server_fleet: tuple[str, Fleet], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a never-expiring backup in a member account, audited through its role
    url, _ = server_fleet
    member = Estate(Fleet(account_id="210987654321"))
    role = "arn:aws:iam::210987654321:role/audit"
    main(
        ["scan", "--format", "json", "--endpoint-url", url, "--region", PRIMARY, "--role-arn", role]
    )
    (tmp_path / "report.json").write_text(capsys.readouterr().out)
    args = [str(tmp_path / "report.json"), "--account", "210987654321", "--rule", "never-expires"]
    journal = str(tmp_path / "fix.jsonl")
    # When applied without the role, then with it
    code, _ = fix(capsys, *args, "--apply", "--journal", journal, "--endpoint-url", url)
    assert code == ExitCode.INCOMPLETE  # no role for that account: the call fails
    assert member.backup(member.pinned).never_expires is True
    code, applied = fix(
        capsys, *args, "--apply", "--journal", journal, "--endpoint-url", url, "--role-arn", role
    )
    # Then the member's backup is fixed through the member role
    assert member.backup(member.pinned).never_expires is False
    assert code == ExitCode.NON_COMPLIANT  # its newest backup stays skipped
    assert [o["outcome"] for o in applied["outcomes"]] == ["applied"]
    assert applied["outcomes"][0]["key"].split(":")[1] == "210987654321"


def test_throttled_calls_are_retried_and_the_time_bound_holds(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, fleet = server_fleet
    estate = Estate(fleet)
    scan(capsys, url, tmp_path / "report.json")
    args = [str(tmp_path / "report.json"), "--rule", "never-expires", "--apply"]
    # Given a budget that is over before anything starts: nothing is called, exit 3
    journal = str(tmp_path / "late.jsonl")
    code, late = fix(
        capsys, *args, "--journal", journal, "--endpoint-url", url, "--max-seconds", "0.000001"
    )
    assert code == ExitCode.INCOMPLETE
    assert {o["reason"] for o in late["outcomes"]} == {
        "not started: the time budget (--max-seconds) ran out"
    }
    assert estate.backup(estate.pinned).never_expires is True
    # Given ModifyBackupAttributes throttled twice: retried, then applied
    fleet_server.layer.faults.append(Fault("throttle", operation="ModifyBackupAttributes", times=2))
    journal = str(tmp_path / "fix.jsonl")
    code, applied = fix(capsys, *args, "--journal", journal, "--endpoint-url", url)
    assert [o["outcome"] for o in applied["outcomes"]] == ["applied"]
    assert len(fleet_server.layer.calls_to("ModifyBackupAttributes")) == 3
    assert estate.backup(estate.pinned).never_expires is False


def test_a_journal_that_is_not_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "fix.jsonl"
    journal.write_text(
        '{"event": "before", "key": "k"}\nnot json\n{"event": "after", "key": "k"}\n'
    )
    assert main(["undo", str(journal)]) == ExitCode.USAGE
    assert "line 2 is not JSON" in capsys.readouterr().err
    assert main(["undo", str(tmp_path / "missing.jsonl")]) == ExitCode.USAGE
    assert "no such journal file" in capsys.readouterr().err


def test_a_region_the_report_did_not_read_completely_is_never_touched(
    server_fleet: tuple[str, Fleet],
    fleet_server: FleetServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a report whose cluster listing failed (its coverage section says so)
    url, fleet = server_fleet
    estate = Estate(fleet)
    fleet_server.layer.faults.append(Fault("deny", operation="DescribeClusters"))
    document = scan(capsys, url, tmp_path / "report.json")
    fleet_server.layer.faults.clear()
    assert any(c["listing"] == "clusters" for c in document["coverage"]["not_read"])
    # When the plan is made with --delete
    code, plan = fix(capsys, str(tmp_path / "report.json"), "--delete")
    # Then nothing is planned, and each backup says why (a plan printed: exit 0)
    assert code == ExitCode.COMPLIANT
    assert plan["actions"] == []
    assert {s["backup_id"] for s in plan["skipped"]} >= {estate.pinned, estate.non_fips}
    assert {s["reason"] for s in plan["skipped"]} == {
        f"the report did not read account 123456789012 in {PRIMARY} completely"
    }

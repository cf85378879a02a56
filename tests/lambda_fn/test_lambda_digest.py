"""The digest, rendered from plain reports: subject, body, budget and attributes. No AWS."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from hsm_backup_audit.constants import RULE_SEVERITY, Rule, Status
from hsm_backup_audit.engine.audit import Report, Scope
from hsm_backup_audit.engine.digest import render_digest, subject_line
from hsm_backup_audit.engine.model import Finding, ScanError

GENERATED = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REPORT_URL = "s3://reports-bucket/reports/123456789012/2026/11/27/run.json"
FIX = "aws cloudhsmv2 modify-backup-attributes --no-never-expires"
HOSTILE = (
    "pki\n[COMPLIANT] forged line\r\nfix: aws s3 rb --force\x1b[31m\x00\u202eévil ☃ " + "x" * 256
)


def finding(
    rule: Rule, n: int, *, account: str = ACCOUNT, region: str = "us-east-1", **extra: object
) -> Finding:
    values: dict[str, object] = {
        "rule": rule,
        "severity": RULE_SEVERITY[rule],
        "account_id": account,
        "region": region,
        "cluster_id": f"cluster-{n % 7:011d}",
        "backup_id": f"backup-{n:011d}",
        "shared": False,
        "message": "NeverExpires is true: the backup escapes the cluster's retention policy.",
        "remediation": f"{FIX} --backup-id backup-{n:011d}",
    } | extra
    return Finding(**values)  # type: ignore[arg-type]


def report_of(
    findings: list[Finding],
    *,
    status: Status | None = None,
    errors: list[ScanError] | None = None,
    accounts: tuple[str, ...] = (ACCOUNT,),
    scanned: int = 1000,
) -> Report:
    if status is None:
        status = Status.NON_COMPLIANT if findings else Status.COMPLIANT
    return Report(
        status=status,
        generated_at=GENERATED,
        scope=Scope(("us-east-1", "eu-west-1"), accounts[0], accounts, True, "policy.json"),
        backups_scanned=scanned,
        findings=findings,
        errors=errors or [],
        by_region={"us-east-1": scanned},
        by_account=dict.fromkeys(accounts, scanned // len(accounts)),
    )


def test_a_compliant_run_is_an_all_clear_with_the_counts() -> None:
    # Given a run with no findings over 1,000 backups
    report = report_of([])
    # When rendered
    digest = render_digest(report, run_id="r1", report_url=REPORT_URL)
    # Then the subject says so with the counts, and the body reads as an all clear
    assert (
        digest.subject == "[COMPLIANT] CloudHSM backups 123456789012: 1,000 backups checked, "
        "0 findings in 0 clusters"
    )
    assert "No findings: every backup meets the policy." in digest.body
    assert f"Report:    {REPORT_URL}" in digest.body
    assert digest.attributes["status"] == {"DataType": "String", "StringValue": "COMPLIANT"}
    assert digest.attributes["findings"] == {"DataType": "Number", "StringValue": "0"}
    assert digest.attributes["severity"]["StringValue"] == "NONE"


def test_a_non_compliant_digest_groups_findings_by_rule_with_the_fix() -> None:
    # Given two HIGH never-expires findings in two clusters and one MEDIUM overdue
    findings = [
        finding(Rule.NEVER_EXPIRES, 1),
        finding(Rule.NEVER_EXPIRES, 2),
        finding(Rule.OVERDUE, 3),
    ]
    # When rendered
    digest = render_digest(report_of(findings), run_id="r1")
    body = digest.body
    # Then the subject carries status and counts, attributes the highest severity,
    assert (
        digest.subject == "[NON_COMPLIANT] CloudHSM backups 123456789012: 3 findings in 3 clusters"
    )
    assert digest.attributes["severity"]["StringValue"] == "HIGH"
    assert digest.attributes["findings"]["StringValue"] == "3"
    # and the body has the table per rule and per region (rows of zeros left out), then
    # each finding
    assert "  never-expires                HIGH        2" in body
    assert "  mode " not in body
    assert "  us-east-1                   1,000          3" in body
    assert "  eu-west-1 " not in body
    assert "  (1 region with no backups not shown)" in body
    assert body.index("[HIGH] never-expires: 2 findings") < body.index(
        "[MEDIUM] overdue: 1 finding"
    )
    assert (
        "  - never-expires  backup-00000000001  cluster cluster-00000000001  us-east-1  "
        "123456789012" in body
    )
    assert f"    fix: {FIX} --backup-id backup-00000000001" in body
    assert "Per account" not in body
    assert "not kept (set REPORT_BUCKET" in body


def test_an_incomplete_run_says_so_in_the_subject_and_lists_the_errors() -> None:
    # Given a run that could not read one region
    error = ScanError(
        ACCOUNT, "eu-west-1", "DescribeBackups", "AccessDenied", "User is not authorized"
    )
    report = report_of([finding(Rule.MODE, 1)], status=Status.INCOMPLETE, errors=[error])
    # When rendered
    digest = render_digest(report, run_id="r1")
    # Then the subject says the audit is incomplete, and the body names what failed
    assert digest.subject == (
        "[INCOMPLETE] 1 scan error; CloudHSM backups 123456789012: 1 finding in 1 cluster"
    )
    assert "The audit is INCOMPLETE" in digest.body
    assert "ERRORS (1): the audit could not see everything" in digest.body
    assert (
        "  123456789012 eu-west-1 DescribeBackups: AccessDenied: User is not authorized"
        in digest.body
    )
    assert digest.attributes["status"]["StringValue"] == "INCOMPLETE"


def test_thirty_thousand_findings_are_grouped_per_cluster_and_rule_under_64_kb() -> None:
    # Given 30,000 findings in three rules over 7 clusters, and an error
    findings = [
        finding(rule, n)
        for n in range(10_000)
        for rule in (Rule.NEVER_EXPIRES, Rule.MODE, Rule.OVERDUE)
    ]
    error = ScanError(ACCOUNT, "eu-west-1", "DescribeBackups", "Throttling", "Rate exceeded")
    report = report_of(findings, status=Status.INCOMPLETE, errors=[error], scanned=10_000)
    # When rendered with the report stored in S3
    digest = render_digest(report, run_id="r1", report_url=REPORT_URL)
    # Then each rule is one entry, a line per cluster with its count and two ids, and one
    # command fixes the whole rule
    body = digest.body
    assert len(body.encode("utf-8")) < 64 * 1024
    assert (digest.findings_shown, digest.findings_omitted) == (30_000, 0)
    assert "  - never-expires: 10,000 backups in 7 clusters" in body
    assert (
        "    cluster cluster-00000000000  us-east-1  123456789012: 1,429 backups "
        "(backup-00000000000, backup-00000000007, ...)" in body
    )
    assert sum(line.startswith("  - ") for line in body.splitlines()) == 3
    assert sum(line.startswith("    cluster cluster-") for line in body.splitlines()) == 21
    assert f"    fix: hsm-backup-audit fix {REPORT_URL} --rule never-expires" in body
    # and the errors still come through
    assert "  123456789012 eu-west-1 DescribeBackups: Throttling: Rate exceeded" in body


def test_30000_clusters_of_one_rule_are_one_block_that_names_a_few() -> None:
    # Given 30,000 findings each in a cluster of its own
    findings = [finding(Rule.MODE, n, cluster_id=f"cluster-{n:011d}") for n in range(30_000)]
    report = report_of(findings, scanned=30_000)
    # When rendered
    digest = render_digest(report, run_id="r1", report_url=REPORT_URL)
    # Then they are one block: eight clusters named, the rest counted, all fixed by one command
    lines = digest.body.splitlines()
    assert "  - mode: 30,000 backups in 30,000 clusters" in lines
    assert "    ... and 29,992 more (all in the report)" in lines
    assert f"    fix: hsm-backup-audit fix {REPORT_URL} --rule mode" in lines
    assert (digest.findings_shown, digest.findings_omitted) == (30_000, 0)


def test_more_entries_than_the_budget_holds_are_counted_and_point_at_the_report() -> None:
    # Given three findings of each of two rules in clusters of their own (one entry each)
    findings = [finding(rule, n) for rule in (Rule.NEVER_EXPIRES, Rule.OVERDUE) for n in range(3)]
    report = report_of(findings, scanned=30_000)
    # When rendered within a small budget
    digest = render_digest(report, run_id="r1", report_url=REPORT_URL, budget=2800)
    # Then the body stays within it, says how many more there are and where
    size = len(digest.body.encode("utf-8"))
    assert size <= 2800
    assert digest.findings_shown + digest.findings_omitted == 6
    assert f"{digest.findings_omitted:,} more findings are not shown" in digest.body
    assert f"The full report: {REPORT_URL}" in digest.body
    assert digest.findings_omitted > 0
    assert "more never-expires findings not shown" in digest.body or (
        "more overdue findings not shown" in digest.body
    )


def test_the_subject_is_one_ascii_line_of_at_most_100_characters() -> None:
    # Given many accounts, many findings and errors
    accounts = tuple(f"{n:012d}" for n in range(1, 40))
    findings = [finding(Rule.MODE, n, account=accounts[n % 39]) for n in range(123_456)]
    errors = [ScanError(a, "us-east-1", "AssumeRole", "AccessDenied", "no") for a in accounts]
    report = report_of(findings, status=Status.INCOMPLETE, errors=errors, accounts=accounts)
    # When the subject is made
    subject = subject_line(report)
    # Then it stays within SNS's rules and still names status and counts
    assert len(subject) < 100
    assert subject.isascii() and subject.isprintable()
    assert subject == (
        "[INCOMPLETE] 39 scan errors; CloudHSM backups 39 accounts: 123,456 findings in 273 "
        "clusters"
    )


def test_hostile_values_cannot_forge_a_line() -> None:
    # Given a finding whose tag, cluster id and message carry newlines, escapes, 300 characters
    hostile = finding(
        Rule.NEVER_EXPIRES,
        1,
        cluster_id=HOSTILE,
        message=HOSTILE,
        tags=(("Name", HOSTILE), (HOSTILE, "v")),
    )
    error = ScanError(ACCOUNT, "eu-west-1", "DescribeBackups", HOSTILE, HOSTILE)
    report = report_of([hostile], status=Status.INCOMPLETE, errors=[error])
    # When rendered
    digest = render_digest(report, run_id=HOSTILE)
    # Then no line begins with what the hostile value tried to inject,
    lines = digest.body.splitlines()
    assert not any(line.startswith(("[COMPLIANT]", "fix:", "\u202e")) for line in lines)
    ours = (
        "Run id:    ",
        "  - never-expires  backup-00000000001  cluster ",
        "    pki ",
        "    tags: Name=",
        "  123456789012 ",
    )
    forged = [line for line in lines if "forged line" in line]
    assert len(forged) == 5
    assert all(line.startswith(ours) for line in forged)
    # and no control or format character survives, nor a value longer than its bound
    assert not any(unicodedata.category(ch)[0] == "C" for ch in digest.body.replace("\n", ""))
    assert max(len(line) for line in lines) <= 1200
    assert "évil ☃" in digest.body  # non-ASCII text itself is kept, as text
    assert digest.subject.isascii() and "\n" not in digest.subject


def test_more_than_one_account_adds_a_table_per_account() -> None:
    # Given findings in two accounts
    accounts = ("111111111111", "222222222222")
    findings = [
        finding(Rule.MODE, 1, account=accounts[0]),
        finding(Rule.MODE, 2, account=accounts[0]),
    ]
    # When rendered
    digest = render_digest(report_of(findings, accounts=accounts), run_id="r1")
    # Then the subject counts accounts, and the body has a row for each, zeros included
    assert "CloudHSM backups 2 accounts: 2 findings" in digest.subject
    assert "Per account" in digest.body
    assert "  111111111111                  500          2" in digest.body
    assert "  222222222222                  500          0" in digest.body


def test_a_report_that_could_not_be_stored_is_named_in_the_body() -> None:
    # Given a delivery where the S3 report failed
    problem = "s3://missing/reports/x.json: NoSuchBucket: The specified bucket does not exist"
    # When rendered
    digest = render_digest(report_of([finding(Rule.MODE, 1)]), run_id="r1", report_problem=problem)
    # Then the reader learns that the full report is missing, and why
    assert f"Report:    COULD NOT BE STORED: {problem}" in digest.body


def test_an_open_finding_cannot_pass_for_a_new_or_resolved_one() -> None:
    # Given ids that spell what a NEW or RESOLVED line starts with
    ids = ("NEW [HIGH] never-expires", "RESOLVED [HIGH] mode")
    report = report_of([finding(Rule.NEVER_EXPIRES, n, backup_id=bid) for n, bid in enumerate(ids)])
    # When rendered without a baseline (nothing is new, nothing resolved)
    lines = render_digest(report, run_id="r1").body.splitlines()
    # Then no line starts as a NEW or RESOLVED entry does: open findings carry their own marker
    assert not any(line.startswith(("  NEW [", "  RESOLVED [")) for line in lines)
    assert (
        sum(
            line.startswith("  - never-expires  NEW [HIGH] never-expires  cluster")
            for line in lines
        )
        == 1
    )

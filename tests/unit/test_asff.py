"""Findings as ASFF documents: the fields Security Hub shows, within ASFF's limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hsm_backup_audit.constants import Rule, Severity
from hsm_backup_audit.engine.asff import (
    finding_document,
    resolved_document,
    run_documents,
)
from hsm_backup_audit.engine.changes import ResolvedFinding
from hsm_backup_audit.engine.model import Finding, parse_backup, parse_cluster
from hsm_backup_audit.engine.policy import Exemption, Policy
from hsm_backup_audit.engine.rules import backup_findings, cluster_findings
from tests.asff_model import asff_problems, assert_valid_asff, resolved_of

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
FIRST_SEEN = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
ACCOUNT = "111122223333"


def a_finding(**changes: Any) -> Finding:
    values: dict[str, Any] = {
        "rule": Rule.NEVER_EXPIRES,
        "severity": Severity.HIGH,
        "account_id": ACCOUNT,
        "region": "eu-west-1",
        "cluster_id": "cluster-jxhlf7644ne",
        "backup_id": "backup-rtq2dwi2gq6",
        "shared": False,
        "message": "NeverExpires is true: the backup escapes the cluster's retention policy.",
        "remediation": "aws cloudhsmv2 modify-backup-attributes --no-never-expires "
        "--backup-id backup-rtq2dwi2gq6 --region eu-west-1",
        "tags": (("Name", "pki-root"),),
        "resource_arn": f"arn:aws:cloudhsm:eu-west-1:{ACCOUNT}:backup/backup-rtq2dwi2gq6",
        "mode": "FIPS",
        "hsm_type": "hsm2m.medium",
    }
    return Finding(**(values | changes))


def resolved_from(finding: Finding) -> ResolvedFinding:
    return resolved_of(finding, FIRST_SEEN)


def document(finding: Finding, partition: str = "aws") -> dict[str, Any]:
    return finding_document(finding, first_seen=FIRST_SEEN, observed_at=NOW, partition=partition)


def test_a_finding_becomes_an_active_failed_document_with_every_field() -> None:
    # Given a never-expires finding on a backup
    finding = a_finding()
    # When it is made into an ASFF document
    doc = document(finding)
    # Then it carries what the issue lists, and botocore's model accepts it
    assert doc["SchemaVersion"] == "2018-10-08"
    assert doc["Id"] == f"hsm-backup-audit/{finding.id}"
    assert doc["ProductArn"] == (
        f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
    )
    assert doc["GeneratorId"] == "hsm-backup-audit/never-expires"
    assert doc["AwsAccountId"] == ACCOUNT
    assert doc["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert doc["Severity"]["Label"] == "HIGH"
    assert doc["Compliance"] == {"Status": "FAILED"}
    assert doc["RecordState"] == "ACTIVE"
    assert doc["Title"] == "CloudHSM backup never expires: backup-rtq2dwi2gq6"
    assert doc["Description"] == finding.message
    assert doc["Remediation"]["Recommendation"]["Text"] == finding.remediation
    assert doc["CreatedAt"] == doc["FirstObservedAt"] == "2026-11-20T07:00:00Z"
    assert doc["UpdatedAt"] == doc["LastObservedAt"] == "2026-11-27T07:00:00Z"
    (resource,) = doc["Resources"]
    assert resource == {
        "Type": "Other",
        "Id": f"arn:aws:cloudhsm:eu-west-1:{ACCOUNT}:backup/backup-rtq2dwi2gq6",
        "Partition": "aws",
        "Region": "eu-west-1",
        "Details": {
            "Other": {
                "ClusterId": "cluster-jxhlf7644ne",
                "BackupId": "backup-rtq2dwi2gq6",
                "Mode": "FIPS",
                "HsmType": "hsm2m.medium",
                "Shared": "false",
            }
        },
        "Tags": {"Name": "pki-root"},
    }
    assert_valid_asff(doc)


def test_the_id_is_the_stable_finding_id_whatever_the_message_or_time() -> None:
    # Given the same problem seen on two days with other words, and another backup's
    first = document(a_finding())
    later = finding_document(
        a_finding(message="NeverExpires is true (seen again)."),
        first_seen=FIRST_SEEN,
        observed_at=NOW + timedelta(days=1),
        partition="aws",
    )
    other = document(a_finding(backup_id="backup-aaaaaaaaaaa"))
    # Then a re-import updates the same Security Hub finding, and another backup is another
    assert first["Id"] == later["Id"]
    assert other["Id"] != first["Id"]


def test_a_cluster_finding_names_the_cluster_arn_built_in_the_regions_partition() -> None:
    # Given a retention-policy finding on a cluster in the China partition
    finding = a_finding(
        rule=Rule.RETENTION_POLICY,
        severity=Severity.MEDIUM,
        region="cn-north-1",
        backup_id=None,
        resource_arn=None,
        tags=(),
    )
    # When it is made into a document for partition aws-cn
    doc = document(finding, partition="aws-cn")
    # Then the product and the resource are in that partition, and the ARN is the cluster's
    assert doc["ProductArn"] == (
        f"arn:aws-cn:securityhub:cn-north-1:{ACCOUNT}:product/{ACCOUNT}/default"
    )
    (resource,) = doc["Resources"]
    assert resource["Id"] == f"arn:aws-cn:cloudhsm:cn-north-1:{ACCOUNT}:cluster/cluster-jxhlf7644ne"
    assert resource["Partition"] == "aws-cn"
    assert "BackupId" not in resource["Details"]["Other"]
    assert "Tags" not in resource
    assert_valid_asff(doc)


def test_a_shared_backup_keeps_its_owners_arn_and_says_who_must_act() -> None:
    owner_arn = "arn:aws:cloudhsm:eu-west-1:999988887777:backup/backup-rtq2dwi2gq6"
    doc = document(a_finding(shared=True, resource_arn=owner_arn))
    assert doc["AwsAccountId"] == ACCOUNT  # the account that sees it, and imports it
    assert doc["Resources"][0]["Id"] == owner_arn
    assert doc["Resources"][0]["Details"]["Other"]["Shared"] == "true"
    assert "its owner must act" in doc["Description"]
    assert_valid_asff(doc)


def test_long_or_hostile_text_stays_within_asffs_limits() -> None:
    # Given text longer than ASFF allows, with line breaks, and blank tags
    finding = a_finding(
        message="x\n" * 2000,
        remediation="y " * 600,
        cluster_id="c" * 2000,
        backup_id="b" * 600,
        tags=(("", "value"), ("Owner", " "), ("Team", "pki")),
    )
    # When it is made into a document
    doc = document(finding)
    # Then every length is within the model's limits, and blank tags are left out
    assert len(doc["Title"]) <= 256
    assert len(doc["Description"]) <= 1024
    assert len(doc["Remediation"]["Recommendation"]["Text"]) <= 512
    assert doc["Resources"][0]["Tags"] == {"Team": "pki"}
    assert_valid_asff(doc)


def test_a_resolved_finding_is_archived_and_passed_under_the_same_id() -> None:
    # Given a finding fixed since the last run
    finding = a_finding()
    # When its resolved document is made
    doc = resolved_document(resolved_from(finding), observed_at=NOW, partition="aws")
    # Then it replaces the active one: same Id and product, ARCHIVED, PASSED
    assert doc["Id"] == document(finding)["Id"]
    assert doc["ProductArn"] == document(finding)["ProductArn"]
    assert doc["RecordState"] == "ARCHIVED"
    assert doc["Compliance"] == {"Status": "PASSED"}
    assert doc["Severity"] == {"Label": "INFORMATIONAL", "Original": "HIGH"}
    assert doc["CreatedAt"] == "2026-11-20T07:00:00Z"
    assert doc["UpdatedAt"] == "2026-11-27T07:00:00Z"
    assert doc["Description"].startswith("Resolved: not found by the audit of 2026-11-27")
    assert doc["Resources"][0]["Id"] == finding.resource_arn
    assert_valid_asff(doc)


def test_a_finding_that_left_because_of_an_exemption_is_archived_as_a_warning() -> None:
    # Given a finding that an exemption now covers (so this run dropped it)
    finding = a_finding()
    exemption = Exemption(
        backup_id=finding.backup_id,
        rules=(Rule.NEVER_EXPIRES,),
        reason="legal hold, ticket SEC-42",
        expires=date(2027, 1, 31),
    )
    # When the run's documents are made
    (doc,) = run_documents(
        [],
        [resolved_from(finding)],
        first_seen={},
        observed_at=NOW,
        partition_of=lambda region: "aws",
        exemptions=(exemption,),
    )
    # Then it is archived, but as WARNING with the exemption's reason and expiry: not a fix
    assert doc["RecordState"] == "ARCHIVED"
    assert doc["Compliance"] == {"Status": "WARNING"}
    assert "until 2027-01-31 (reason: legal hold, ticket SEC-42)" in doc["Description"]
    assert_valid_asff(doc)


def test_run_documents_skip_info_and_take_first_seen_from_the_history() -> None:
    # Given a HIGH finding seen before, a new MEDIUM one, an INFO one, and two resolved
    high = a_finding()
    medium = a_finding(rule=Rule.OVERDUE, severity=Severity.MEDIUM)
    info = a_finding(rule=Rule.PENDING_DELETION, severity=Severity.INFO)
    gone = resolved_from(a_finding(backup_id="backup-ccccccccccc"))
    gone_info = replace(resolved_from(info), severity="INFO")
    # When the run's documents are made
    docs = run_documents(
        [high, medium, info],
        [gone, gone_info],
        first_seen={high.id: FIRST_SEEN},
        observed_at=NOW,
        partition_of=lambda region: "aws",
    )
    # Then INFO is never sent (so never archived), and CreatedAt is when first seen
    by_id = {d["Id"]: d for d in docs}
    assert set(by_id) == {f"hsm-backup-audit/{x}" for x in (high.id, medium.id, gone.id)}
    assert by_id[f"hsm-backup-audit/{high.id}"]["CreatedAt"] == "2026-11-20T07:00:00Z"
    assert by_id[f"hsm-backup-audit/{medium.id}"]["CreatedAt"] == "2026-11-27T07:00:00Z"
    for doc in docs:
        assert_valid_asff(doc)


def test_rules_give_findings_the_resource_arn_mode_and_hsm_type() -> None:
    # Given a NON_FIPS hsm1 backup and a cluster without retention, as the API answers
    arn = f"arn:aws:cloudhsm:eu-west-1:{ACCOUNT}:backup/backup-rtq2dwi2gq6"
    backup = parse_backup(
        {
            "BackupId": "backup-rtq2dwi2gq6",
            "BackupArn": arn,
            "ClusterId": "cluster-jxhlf7644ne",
            "BackupState": "READY",
            "NeverExpires": False,
            "Mode": "NON_FIPS",
            "HsmType": "hsm1.medium",
        },
        ACCOUNT,
        "eu-west-1",
        shared=False,
    )
    cluster = parse_cluster(
        {"ClusterId": "cluster-jxhlf7644ne", "Mode": "FIPS", "HsmType": "hsm2m.medium"},
        ACCOUNT,
        "eu-west-1",
    )
    # When the rules judge them
    backup_found = list(backup_findings(backup, Policy()))
    cluster_found = list(cluster_findings(cluster, NOW, Policy(), NOW))
    # Then each finding carries what Security Hub's Details.Other shows
    assert {(f.rule, f.resource_arn, f.mode, f.hsm_type) for f in backup_found} == {
        (Rule.MODE, arn, "NON_FIPS", "hsm1.medium"),
        (Rule.HSM_TYPE, arn, "NON_FIPS", "hsm1.medium"),
    }
    (retention,) = cluster_found
    assert (retention.resource_arn, retention.mode, retention.hsm_type) == (
        None,
        "FIPS",
        "hsm2m.medium",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("Id"), "required member Id is missing"),
        (lambda d: d.update(Title="t" * 257), "257 characters, more than 256"),
        (lambda d: d.update(Description=" "), "does not match"),
        (lambda d: d.update(RecordState="OPEN"), "is not one of"),
        (lambda d: d.update(Workflow={"Status": "DONE"}), "is not one of"),
        (lambda d: d.update(CreatedAt="27/11/2026"), "not an RFC 3339 timestamp"),
        (lambda d: d.update(AwsAccountId="1234"), "shorter than 12"),
        (lambda d: d.update(Resources=[]), "fewer than 1 items"),
        (lambda d: d.update(Confidence="high"), "expected an integer"),
        (lambda d: d.update(Colour="red"), "unknown member Colour"),
        (
            lambda d: d["Resources"][0]["Details"].update(Other={f"k{i}": "v" for i in range(51)}),
            "more than 50 entries",
        ),
        (
            lambda d: d["Resources"][0]["Details"].update(Other={"k": "v" * 1024}),
            "1024 characters, more than 1023",
        ),
        (lambda d: d.update(Types=["x"] * 51), "more than 50 items"),
    ],
)
def test_the_validator_refuses_what_the_model_forbids(change: Any, expected: str) -> None:
    # Given a valid document broken in one way
    doc = document(a_finding())
    change(doc)
    # Then the validator names the problem
    assert any(expected in problem for problem in asff_problems(doc)), asff_problems(doc)

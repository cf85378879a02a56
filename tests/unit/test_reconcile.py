"""Reconciliation with Security Hub (engine/reconcile.py): what is archived, and how.

An ARCHIVED document is the last ACTIVE one with only its state changed (a shared backup's
resource Id stays the owner's); only findings in cells read completely are archived, never
those the policy stopped auditing; the recommendation's Url names the rule's section."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from hsm_backup_audit.constants import DOCS_BASE_URL, Rule, Severity
from hsm_backup_audit.engine.asff import finding_document, recommendation_url
from hsm_backup_audit.engine.coverage import CLUSTERS, OWNED, SHARED, Coverage
from hsm_backup_audit.engine.model import Finding
from hsm_backup_audit.engine.policy import Exemption, Policy
from hsm_backup_audit.engine.reconcile import (
    STATE_FIELDS,
    archived,
    get_findings_filters,
    is_ours,
    to_archive,
)
from infra.constants import ROOT
from tests.asff_model import assert_valid_asff

AUDITED, OWNER = "111122223333", "444455556666"
REGION = "eu-west-1"
FIRST = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
LAST = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def finding(
    rule: Rule = Rule.NEVER_EXPIRES, backup_id: str = "backup-rtq2dwi2gq6", shared: bool = False
) -> Finding:
    return Finding(
        rule=rule,
        severity=Severity.HIGH,
        account_id=AUDITED,
        region=REGION,
        cluster_id="cluster-jxhlf7644ne",
        backup_id=backup_id,
        shared=shared,
        message="NeverExpires is true.",
        remediation="aws cloudhsmv2 modify-backup-attributes --no-never-expires",
        tags=(("Name", "pki-root"),),
        # a shared backup's ARN names its owner's account, not the audited one
        resource_arn=f"arn:aws:cloudhsm:{REGION}:{OWNER if shared else AUDITED}:backup/{backup_id}",
        mode="FIPS",
        hsm_type="hsm2m.medium",
    )


def active(item: Finding) -> dict[str, Any]:
    return finding_document(item, first_seen=FIRST, observed_at=LAST, partition="aws")


def without_state(document: dict[str, Any]) -> dict[str, Any]:
    rest = {key: value for key, value in document.items() if key not in STATE_FIELDS}
    provider = dict(rest["FindingProviderFields"])
    provider.pop("Severity")  # the provider's copy of Severity, a state field too
    return rest | {"FindingProviderFields": provider}


def test_an_archived_document_equals_its_last_active_one_except_the_state_fields() -> None:
    # Given the last ACTIVE document of a shared backup's finding (owner's resource ARN)
    last = active(finding(shared=True))
    # When it is archived
    gone = archived(last, observed_at=NOW)
    # Then only RecordState, Compliance, UpdatedAt and Severity changed
    assert without_state(gone) == without_state(last)
    assert (
        gone["Resources"][0]["Id"] == f"arn:aws:cloudhsm:{REGION}:{OWNER}:backup/backup-rtq2dwi2gq6"
    )
    assert gone["RecordState"] == "ARCHIVED"
    assert gone["Compliance"]["Status"] == "PASSED"
    assert gone["UpdatedAt"] == "2026-11-28T07:00:00Z"
    assert gone["Severity"] == {"Label": "INFORMATIONAL", "Original": "HIGH"}
    assert gone["FindingProviderFields"]["Severity"] == gone["Severity"]
    assert last["RecordState"] == "ACTIVE"  # the input is not changed
    assert_valid_asff(gone)


def coverage(*listings: str) -> Coverage:
    return Coverage(frozenset((AUDITED, REGION, listing) for listing in listings))


def archive(documents: list[dict[str, Any]], cover: Coverage, **policy: Any) -> list[str]:
    done = to_archive(
        documents,
        set(),
        coverage=cover,
        policy=Policy(**policy),
        include_shared=True,
        observed_at=NOW,
    )
    for document in done:
        assert_valid_asff(document)
    return [document["Id"] for document in done]


def test_an_active_finding_in_a_cell_not_read_completely_is_never_archived() -> None:
    owned, shared = active(finding()), active(finding(backup_id="backup-shared00001", shared=True))
    cluster = active(finding(Rule.STALE_CLUSTER, backup_id=""))
    documents = [owned, shared, cluster]
    # Only the owned listing read: only the owned backup's finding is decided
    assert archive(documents, coverage(OWNED)) == [owned["Id"]]
    # Only the shared listing read: only the shared one
    assert archive(documents, coverage(SHARED)) == [shared["Id"]]
    # stale-cluster needs both the clusters and the owned listing
    assert archive(documents, coverage(CLUSTERS)) == []
    assert archive(documents, coverage(CLUSTERS, OWNED)) == [owned["Id"], cluster["Id"]]
    # Nothing read (or no coverage at all): nothing archived
    assert archive(documents, coverage()) == []
    assert (
        to_archive(
            documents, set(), coverage=None, policy=Policy(), include_shared=True, observed_at=NOW
        )
        == []
    )


def test_what_the_run_reports_or_the_policy_stopped_auditing_stays_active() -> None:
    owned = active(finding())
    shared = active(finding(backup_id="backup-shared00001", shared=True))
    read = coverage(CLUSTERS, OWNED, SHARED)
    # reported by this run: not archived
    assert (
        to_archive(
            [owned],
            {owned["Id"]},
            coverage=read,
            policy=Policy(),
            include_shared=True,
            observed_at=NOW,
        )
        == []
    )
    # the rule stopped (allow_never_expires) or the listing (include_shared: false)
    assert archive([owned], read, allow_never_expires=True) == []
    assert archive([shared], read, include_shared=False) == []
    # a document that does not say whether it is shared (older, or not ours) is left alone
    unknown = active(finding())
    del unknown["Resources"][0]["Details"]["Other"]["Shared"]
    assert archive([unknown], read) == []


def test_a_finding_an_exemption_now_covers_is_archived_as_warning() -> None:
    owned = active(finding())
    exemption = Exemption(
        backup_id="backup-rtq2dwi2gq6",
        rules=(Rule.NEVER_EXPIRES,),
        reason="legal hold",
        expires=date(2027, 1, 31),
    )
    (done,) = to_archive(
        [owned],
        set(),
        coverage=coverage(OWNED),
        policy=Policy(exemptions=(exemption,)),
        include_shared=True,
        observed_at=NOW,
    )
    assert done["Compliance"]["Status"] == "WARNING"
    assert "legal hold" in done["Compliance"]["StatusReasons"][0]["Description"]


def test_the_get_findings_filters_are_valid_and_the_client_checks_them_again() -> None:
    product = f"arn:aws:securityhub:{REGION}:{AUDITED}:product/{AUDITED}/default"
    filters = get_findings_filters(product, AUDITED, REGION)
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("GetFindings").input_shape
    report = ParamValidator().validate({"Filters": filters, "MaxResults": 100}, shape)
    assert not report.has_errors(), report.generate_report()
    document = active(finding())
    assert is_ours(document, product, AUDITED, REGION)
    for key, other in [
        ("ProductArn", product.replace("default", "prowler")),
        ("GeneratorId", "prowler-cloudhsm_backup"),
        ("AwsAccountId", OWNER),
        ("RecordState", "ARCHIVED"),
    ]:
        assert not is_ours(document | {key: other}, product, AUDITED, REGION), key
    assert not is_ours(document, product, AUDITED, "us-east-1")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_recommendation_url_points_to_the_rules_section_of_the_docs() -> None:
    headings = re.findall(r"^#{2,3} (.+)$", (ROOT / "docs" / "rules.md").read_text(), re.M)
    anchors = [slug(heading) for heading in headings]
    for rule in Rule:
        url = recommendation_url(str(rule))
        base, _, anchor = url.partition("#")
        assert base == f"{DOCS_BASE_URL}/rules.md"
        assert anchors.count(anchor) == 1, rule  # one section, the first of its name
        document = active(finding(rule))
        assert document["Remediation"]["Recommendation"]["Url"] == url
        assert_valid_asff(document)

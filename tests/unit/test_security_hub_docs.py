"""docs/security-hub.md shows a finding as Security Hub holds it: that JSON is what the code
makes of the finding described under it, so the page cannot drift from the code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from hsm_backup_audit.constants import Rule, Severity
from hsm_backup_audit.engine.asff import finding_document
from hsm_backup_audit.engine.model import Finding
from infra.constants import ROOT
from tests.asff_model import assert_valid_asff

PAGE = ROOT / "docs" / "security-hub.md"


def example_document() -> dict[str, Any]:
    finding = Finding(
        rule=Rule.NEVER_EXPIRES,
        severity=Severity.HIGH,
        account_id="111122223333",
        region="eu-west-1",
        cluster_id="cluster-jxhlf7644ne",
        backup_id="backup-rtq2dwi2gq6",
        shared=False,
        message="NeverExpires is true: the backup escapes the cluster's retention policy.",
        remediation="aws cloudhsmv2 modify-backup-attributes --no-never-expires "
        "--backup-id backup-rtq2dwi2gq6 --region eu-west-1",
        tags=(("Name", "pki-root"),),
        resource_arn="arn:aws:cloudhsm:eu-west-1:111122223333:backup/backup-rtq2dwi2gq6",
        mode="FIPS",
        hsm_type="hsm2m.medium",
    )
    return finding_document(
        finding,
        first_seen=datetime(2026, 11, 20, 7, 0, 12, tzinfo=UTC),
        observed_at=datetime(2026, 11, 27, 7, 0, 9, tzinfo=UTC),
        partition="aws",
    )


def test_the_page_shows_the_document_the_code_makes() -> None:
    (shown,) = re.findall(r"```json\n(.*?)\n```", PAGE.read_text(), flags=re.DOTALL)[:1]
    assert json.loads(shown) == example_document()
    assert_valid_asff(json.loads(shown))


if __name__ == "__main__":  # print the page's example: python -m tests.unit.test_security_hub_docs
    print(json.dumps(example_document(), indent=2))

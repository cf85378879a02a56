"""Account ids are ASCII digits only wherever they are validated: Python's `\\d` also
matches Arabic-Indic (and other Unicode) digits, which AWS never sends nor accepts."""

from __future__ import annotations

import re

import pytest

from hsm_backup_audit.aws.cloudhsm import account_id_of_role
from hsm_backup_audit.aws.organizations import member_role_arn
from hsm_backup_audit.cli import main
from hsm_backup_audit.configuration import ACCOUNT_PATTERN, TOPIC_ARN_PATTERN
from hsm_backup_audit.constants import ACCOUNT_ID_PATTERN, ROLE_ARN_PATTERN, ExitCode
from hsm_backup_audit.regions import REGION_SHAPE

ARABIC_INDIC = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"


def test_arabic_indic_digits_are_no_account_id() -> None:
    assert len(ARABIC_INDIC) == 12 and re.fullmatch(r"\d{12}", ARABIC_INDIC)  # what \d does
    role = f"arn:aws:iam::{ARABIC_INDIC}:role/audit"
    assert not re.fullmatch(ROLE_ARN_PATTERN, role)
    assert not re.fullmatch(ACCOUNT_ID_PATTERN, ARABIC_INDIC)
    assert not ACCOUNT_PATTERN.fullmatch(ARABIC_INDIC)
    assert not re.fullmatch(TOPIC_ARN_PATTERN, f"arn:aws:sns:us-east-1:{ARABIC_INDIC}:t")
    assert not REGION_SHAPE.fullmatch("us-east-\u0661")
    with pytest.raises(ValueError, match="12-digit"):
        account_id_of_role(role)
    with pytest.raises(ValueError, match="not an account id"):
        member_role_arn(ARABIC_INDIC, "audit")
    # and the ASCII forms still pass
    assert account_id_of_role("arn:aws:iam::123456789012:role/audit") == "123456789012"


def test_a_role_arn_with_arabic_indic_digits_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--region", "us-east-1", "--role-arn", f"arn:aws:iam::{ARABIC_INDIC}:role/x"])
    assert exited.value.code == ExitCode.USAGE
    assert "not an IAM role ARN" in capsys.readouterr().err

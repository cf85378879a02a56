"""autoFix=never-expires: the function's role may set NeverExpires on this account's
backups and write the fix journal only when the setting is on; no role may ever delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.constants import AUDIT_FUNCTION_ROLE_NAME

from .conftest import Synth, synthesize
from .test_iam import _role_id, granted, statements_of


@pytest.fixture(scope="module")
def auto_fix(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("auto-fix"), autoFix="never-expires")


def _role(synth: Synth) -> str:
    return _role_id(synth.audit, lambda p: p.get("RoleName") == AUDIT_FUNCTION_ROLE_NAME)


def _environment(synth: Synth) -> dict[str, Any]:
    (function,) = synth.audit.find_resources("AWS::Lambda::Function").values()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_on_the_role_may_modify_only_this_accounts_backups(auto_fix: Synth) -> None:
    grants = granted(auto_fix.audit, _role(auto_fix))
    modify = {
        resource for actions, resource in grants if "cloudhsm:ModifyBackupAttributes" in actions
    }
    assert len(modify) == 1
    (resource,) = modify
    assert ":cloudhsm:*:" in resource and ":backup/*" in resource and "AccountId" in resource
    assert _environment(auto_fix)["AUTO_FIX"] == "never-expires"
    # and the journal goes under fixes/ only
    journal = [r for actions, r in grants if actions == ("s3:PutObject",) and "fixes/" in r]
    assert len(journal) == 1


def test_off_by_default_no_role_may_change_a_backup(default: Synth, auto_fix: Synth) -> None:
    for synth in (default, auto_fix):
        for template in (synth.audit, synth.member):
            for role_id in template.find_resources("AWS::IAM::Role"):
                actions = {
                    action
                    for statement in statements_of(template, role_id)
                    for action in (
                        statement["Action"]
                        if isinstance(statement["Action"], list)
                        else [statement["Action"]]
                    )
                }
                assert not {"cloudhsm:DeleteBackup", "cloudhsm:RestoreBackup"} & actions
                if synth is default:
                    assert "cloudhsm:ModifyBackupAttributes" not in actions
    assert "AUTO_FIX" not in _environment(default)


def test_the_fix_journals_expire_with_the_reports(auto_fix: Synth) -> None:
    (bucket,) = auto_fix.audit.find_resources("AWS::S3::Bucket").values()
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireFixJournals"]["Prefix"] == "fixes/"
    assert rules["ExpireFixJournals"]["ExpirationInDays"] == 730


def test_a_bad_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="autoFix: expected never or never-expires"):
        synthesize(tmp_path, autoFix="everything")

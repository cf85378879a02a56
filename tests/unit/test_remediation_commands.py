"""The fix lines are commands people paste: an id an account member chose stays one word."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hsm_backup_audit.engine.audit import Audit, Scope
from hsm_backup_audit.engine.policy import Policy

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
REGION, ACCOUNT = "us-east-1", "123456789012"
SCOPE = Scope(regions=(REGION,), account_id=ACCOUNT, accounts=(ACCOUNT,), include_shared=True)


def _words_after(flag: str, command: str) -> list[str]:
    words = shlex.split(command[command.index("aws cloudhsmv2") :])
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == flag]


# printable ids with what a shell treats specially; safe_text already removed line breaks
hostile = st.text(
    alphabet=st.sampled_from("ab7 ;|&$()`'\"\\<>*?!#~{}"), min_size=1, max_size=30
).map(lambda s: "backup-" + s)


@given(backup_id=hostile, cluster_id=hostile.map(lambda s: s.replace("backup-", "cluster-")))
def test_every_id_in_a_fix_command_is_exactly_one_shell_word(
    backup_id: str, cluster_id: str
) -> None:
    # Given a backup that breaks every backup rule, with ids full of shell syntax
    audit = Audit(Policy(), NOW)
    raw = {
        "BackupId": backup_id,
        "BackupState": "READY",
        "ClusterId": cluster_id,
        "CreateTimestamp": NOW - timedelta(days=900),
        "NeverExpires": True,
        "Mode": "NON_FIPS",
        "HsmType": "hsm1.medium",
    }
    audit.add_clusters(ACCOUNT, REGION, [{"ClusterId": cluster_id, "State": "ACTIVE"}])
    audit.add_backups(ACCOUNT, REGION, False, [raw])
    report = audit.finish(SCOPE)
    commands = [f.remediation for f in report.findings if "aws cloudhsmv2" in f.remediation]
    assert len(commands) >= 4
    for command in commands:
        # Then the shell reads each id back as one word, unchanged, and no other word
        # of the command comes from the id
        for flag, wanted in (("--backup-id", backup_id), ("--cluster-id", cluster_id)):
            assert all(word == " ".join(wanted.split()) for word in _words_after(flag, command))
        assert _words_after("--region", command) == [REGION]

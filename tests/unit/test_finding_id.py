"""Stable finding ids: the key for changes between runs and for Security Hub."""

from __future__ import annotations

from hsm_backup_audit.constants import Rule, Severity
from hsm_backup_audit.engine.model import Finding, finding_id


def _finding(**overrides: object) -> Finding:
    fields: dict[str, object] = {
        "rule": Rule.MODE,
        "severity": Severity.HIGH,
        "account_id": "111122223333",
        "region": "eu-west-1",
        "cluster_id": "cluster-abcdefghijk",
        "backup_id": "backup-abcdefghijk",
        "shared": False,
        "message": "mode NON_FIPS",
        "remediation": "copy to a FIPS cluster",
    }
    fields.update(overrides)
    return Finding(**fields)  # type: ignore[arg-type]


def test_same_problem_on_same_resource_has_the_same_id_whatever_the_text() -> None:
    # Given the same rule on the same backup, worded and graded differently in two runs
    first = _finding()
    second = _finding(message="other words", remediation="x", severity=Severity.INFO, shared=True)
    # Then the ids are equal and well formed
    assert first.id == second.id
    assert first.id.startswith("v1-") and len(first.id) == 35
    assert first.to_dict()["id"] == first.id


def test_a_different_rule_or_resource_gives_a_different_id() -> None:
    base = _finding().id
    others = [
        _finding(rule=Rule.NEVER_EXPIRES),
        _finding(account_id="444455556666"),
        _finding(region="eu-west-2"),
        _finding(cluster_id="cluster-other"),
        _finding(backup_id="backup-other"),
        _finding(backup_id=None),
    ]
    ids = {f.id for f in others}
    assert base not in ids and len(ids) == len(others)


def test_fields_cannot_be_shifted_into_each_other() -> None:
    # "a" + "bc" and "ab" + "c" must not collide
    assert (
        _finding(cluster_id="a", backup_id="bc").id != _finding(cluster_id="ab", backup_id="c").id
    )


def test_the_id_is_built_from_the_raw_ids_so_lookalikes_keep_their_own() -> None:
    # Given two backups that display alike (a zero-width character, or a cut after 128 chars)
    plain = _finding(backup_ref="backup-abcdefghijk", cluster_ref="cluster-abcdefghijk")
    hidden = _finding(backup_ref="backup-abcdefghijk\u200b", cluster_ref="cluster-abcdefghijk")
    other_cluster = _finding(backup_ref="backup-abcdefghijk", cluster_ref="cluster-abcdefghijk ")
    # Then each keeps its own id
    assert len({plain.id, hidden.id, other_cluster.id}) == 3
    # And an ordinary id, raw and displayed alike, gives the id it always had
    assert plain.id == _finding().id
    assert plain.id == finding_id(
        Rule.MODE, "111122223333", "eu-west-1", "cluster-abcdefghijk", "backup-abcdefghijk"
    )

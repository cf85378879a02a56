"""The Lambda reads its policy file through the same checks as the CLI: a hostile or broken
file is one configuration error line at cold start, never a hang, a traceback or a quiet pass."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lambda_output import emf_values, log_records

from hsm_backup_audit.configuration import ConfigurationError, load_configuration
from hsm_backup_audit.constants import MAX_POLICY_BYTES
from hsm_backup_audit.handler import lambda_handler
from hsm_backup_audit_demo import PRIMARY, Fleet
from hsm_backup_audit_demo.invoke_local import SCHEDULED_EVENT, Inbox, LocalContext

TOPIC = "arn:aws:sns:us-east-1:123456789012:hsm-backup-audit"
HOSTILE_POLICIES = {
    "duplicate key": (
        '{"allow_never_expires": false, "allow_never_expires": true}',
        'the key "allow_never_expires" appears more than once',
    ),
    "deep nesting": ("[" * 100_000, "nested too deeply"),
    "huge integer": ('{"min_retention_days": ' + "7" * 5_000 + "}", "far too many digits"),
    "string for a boolean": ('{"include_shared": "yes"}', "include_shared: Input should be"),
    "one for a boolean": ('{"allow_never_expires": 1}', "allow_never_expires: Input should be"),
    "true for a number": ('{"overdue_grace_days": true}', "overdue_grace_days: Input should be"),
    "too large": ("{" + " " * MAX_POLICY_BYTES + "}", f"larger than {MAX_POLICY_BYTES:,} bytes"),
}


def _configuration_error(env: dict[str, str]) -> str:
    """The ConfigurationError message, from a thread: a blocked read fails the test."""
    outcome: list[BaseException | object] = []

    def load() -> None:
        try:
            outcome.append(load_configuration(env))
        except BaseException as exc:  # reported below, whatever it is
            outcome.append(exc)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(timeout=10)
    assert outcome, "loading the configuration did not end"
    assert isinstance(outcome[0], ConfigurationError), f"not refused: {outcome[0]!r}"
    return str(outcome[0])


@pytest.mark.parametrize("kind", sorted(HOSTILE_POLICIES))
def test_a_hostile_policy_file_is_one_configuration_error_line(kind: str, tmp_path: Path) -> None:
    # Given a policy file in the deployment package that JSON or a lax parser would accept
    text, expected = HOSTILE_POLICIES[kind]
    (tmp_path / "policy.json").write_text(text)
    env = {"TOPIC_ARN": TOPIC, "AWS_REGION": "us-east-1", "POLICY_FILE": "policy.json"}
    # When the function loads its configuration at cold start
    message = _configuration_error({**env, "LAMBDA_TASK_ROOT": str(tmp_path)})
    # Then it is refused with one line naming the variable, the file and the problem
    assert message.startswith(f"POLICY_FILE: {tmp_path / 'policy.json'}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_policy_file_that_is_no_regular_file_is_refused_without_waiting(
    kind: str, tmp_path: Path
) -> None:
    # Given POLICY_FILE naming a FIFO (today: a cold start that never ends), a folder, a device
    path = tmp_path / "policy.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path = Path(os.devnull)
    env = {"TOPIC_ARN": TOPIC, "AWS_REGION": "us-east-1", "POLICY_FILE": str(path)}
    # When loaded / Then it ends at once with one line
    message = _configuration_error(env)
    assert message.startswith(f"POLICY_FILE: {path}: cannot read the policy: it is ")
    assert message.endswith("not a regular file")


def test_the_handler_logs_one_line_for_a_duplicate_key_and_publishes_nothing(
    fleet: Fleet,
    lambda_env: dict[str, str],
    inbox: Inbox,
    wall_now: datetime,
    tmp_path: Path,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a fleet with a NeverExpires backup, and a policy that forbids it first and then,
    # in a second copy of the same key, allows it (json alone would keep the last one)
    cluster = fleet.add_cluster(PRIMARY, retention_days=90)
    fleet.add_backup(PRIMARY, cluster, created=wall_now, never_expires=True)
    (tmp_path / "policy.json").write_text(HOSTILE_POLICIES["duplicate key"][0])
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("POLICY_FILE", "policy.json")
    # When the scheduled event invokes the handler
    with pytest.raises(ConfigurationError):
        lambda_handler(SCHEDULED_EVENT, LocalContext())
    out = capsys.readouterr().out
    # Then one clear error line is logged, no metric is sent and nothing is published
    records = log_records(out)
    assert [r["level"] for r in records] == ["ERROR"]
    assert records[0]["message"].startswith("configuration error: POLICY_FILE: ")
    assert records[0]["message"].endswith('the key "allow_never_expires" appears more than once')
    assert inbox.messages() == []
    assert emf_values(out) == {}

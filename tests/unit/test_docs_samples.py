"""Every JSON sample of the README and docs/ is checked against what judges it: a report
against the report schema, an ASFF finding against botocore's Security Hub model, a policy
against the policy model, an IAM policy's actions against botocore's operations, an SNS
filter policy against the attributes the digest sets. Other tests compare some samples with
the code that printed them (drift); these catch a sample that is wrong in itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema
import pytest

from hsm_backup_audit import constants as c
from hsm_backup_audit.aws.journal import action_from, read_journal
from hsm_backup_audit.engine.policy import load_policy
from hsm_backup_audit.engine.remediation import MODIFY, Action, Skipped
from tests.asff_model import assert_valid_asff
from tests.docs_blocks import ROOT, Block, blocks

SCHEMA = json.loads((ROOT / "functions/hsm_backup_audit/report.schema.json").read_text())
SAMPLES = [block for block in blocks() if block.language == "json"]
MESSAGE_ATTRIBUTES = {
    c.ATTRIBUTE_STATUS: {str(status) for status in c.Status},
    c.ATTRIBUTE_SEVERITY: {s.name for s in c.Severity} | {"NONE"},
    c.ATTRIBUTE_NEW_SEVERITY: {s.name for s in c.Severity} | {"NONE"},
}
# Number attributes: SNS numeric matching, {"numeric": [operator, value, ...]}
NUMERIC_ATTRIBUTES = {c.ATTRIBUTE_FINDINGS, c.ATTRIBUTE_NEW_FINDINGS, c.ATTRIBUTE_RESOLVED_FINDINGS}
SNS_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}


def kind(document: Any) -> str:
    if isinstance(document, dict) and set(document) == {"actions", "skipped", "consider"}:
        return "fix plan"
    if isinstance(document, dict) and document.get("SchemaVersion") == "2018-10-08":
        return "asff"
    if isinstance(document, dict) and "schema_version" in document and "findings" in document:
        return "report"
    if isinstance(document, dict) and document.get("Version") == "2012-10-17":
        return "iam"
    if isinstance(document, dict) and set(document) <= set(MESSAGE_ATTRIBUTES) | NUMERIC_ATTRIBUTES:
        return "filter"
    if isinstance(document, dict) and {"read", "not_read"} <= set(document):
        return "coverage"
    return "policy"  # anything else must load as an audit policy


def _check_iam(document: dict[str, Any]) -> None:
    session = botocore.session.get_session()
    for statement in document["Statement"]:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            prefix, operation = action.split(":", 1)
            service = {"cloudhsm": "cloudhsmv2"}.get(prefix, prefix)
            assert operation in session.get_service_model(service).operation_names, action


def _check_fix_plan(document: dict[str, Any]) -> None:
    """Each entry has exactly the keys the plan's own classes write."""
    action = Action(MODIFY, "never-expires", "1", "us-east-1", "c", "b", ("never-expires",), "u")
    skipped = Skipped("b", "reason", "never-expires", "1", "us-east-1", "c")
    assert all(set(a) == set(action.to_dict()) for a in document["actions"])
    assert all(set(s) == set(skipped.to_dict()) for s in document["skipped"])
    assert all({"rule", "account_id", "command"} <= set(c) for c in document["consider"])


def _check_filter(document: dict[str, Any]) -> None:
    for name, values in document.items():
        if name in NUMERIC_ATTRIBUTES:
            for value in values:
                (numeric,) = value.values()
                operators, numbers = numeric[0::2], numeric[1::2]
                assert set(value) == {"numeric"} and set(operators) <= SNS_NUMERIC_OPERATORS
                assert all(isinstance(n, int | float) for n in numbers), (name, value)
        else:
            assert set(values) <= MESSAGE_ATTRIBUTES[name], (name, values)


def _check_coverage(document: dict[str, Any]) -> None:
    """A report's `coverage` section, against that part of the report schema."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.evolve(schema=SCHEMA["properties"]["coverage"]).validate(document)


def _id(block: Block) -> str:
    return block.where


def test_there_are_samples_of_each_kind() -> None:
    kinds = {kind(json.loads(block.text)) for block in SAMPLES}
    assert kinds == {"asff", "report", "iam", "filter", "coverage", "policy", "fix plan"}


@pytest.mark.parametrize("block", [b for b in blocks() if b.language == "jsonl"], ids=_id)
def test_each_journal_sample_reads_as_a_journal(block: Block, tmp_path: Path) -> None:
    # Given the sample written to a file, the journal reader takes every line
    path = tmp_path / "fix.jsonl"
    path.write_text(block.text + "\n")
    entries = read_journal(path)
    assert len(entries) == len(block.text.splitlines())
    assert {e["event"] for e in entries} <= {"before", "after", "undo-before", "undo-after"}
    assert all(action_from(e["action"]).key == e["key"] for e in entries if "action" in e)


@pytest.mark.parametrize("block", SAMPLES, ids=_id)
def test_each_json_sample_is_valid_for_what_reads_it(block: Block) -> None:
    document = json.loads(block.text)
    match kind(document):
        case "asff":
            assert_valid_asff(document)
        case "report":
            jsonschema.validate(document, SCHEMA)
        case "iam":
            _check_iam(document)
        case "filter":
            _check_filter(document)
        case "coverage":
            _check_coverage(document)
        case "fix plan":
            _check_fix_plan(document)
        case _:
            load_policy(block.text)

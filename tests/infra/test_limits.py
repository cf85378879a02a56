"""1,000 member accounts, every region and every option deploy: each size AWS limits is
under its limit, and a configuration over one stops the synth with one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import create_app
from infra.constants import (
    AUDIT_STACK_NAME,
    KMS_KEY_POLICY_MAX_BYTES,
    LAMBDA_ENVIRONMENT_MAX_BYTES,
    MANAGED_POLICY_MAX_CHARS,
    ROLE_INLINE_POLICIES_MAX_CHARS,
)
from infra.limits import measure, policy_characters
from infra.settings import SettingsError

from .conftest import FULL_CONTEXT, MEMBER_ACCOUNTS, Synth, cdk_json_context


def _template(synth: Synth) -> dict[str, Any]:
    return synth.template_json(AUDIT_STACK_NAME)


def _role_inline_characters(template: dict[str, Any]) -> dict[str, int]:
    """Characters of each role's inline policies together, as IAM counts them (references
    counted at the evaluator's generous length)."""
    sizes: dict[str, int] = {}
    for policy in template["Resources"].values():
        if policy["Type"] != "AWS::IAM::Policy":
            continue
        for role in policy["Properties"]["Roles"]:
            size = policy_characters(policy["Properties"]["PolicyDocument"])
            sizes[role["Ref"]] = sizes.get(role["Ref"], 0) + size
    return sizes


def test_a_thousand_member_accounts_every_region_and_option_fit(full: Synth) -> None:
    # Given the full synth: 1,000 member accounts, regions=all, every option on
    assert len(MEMBER_ACCOUNTS) == 1_000 and FULL_CONTEXT["regions"] == "all"
    template = _template(full)
    # Then every role's inline policies fit IAM's aggregate limit,
    inline = _role_inline_characters(template)
    assert inline and max(inline.values()) < ROLE_INLINE_POLICIES_MAX_CHARS / 2
    # there are no managed policies to grow,
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    # the function's environment is far under Lambda's 4 KB (the accounts are in the asset),
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    raw = sum(len(k) + len(json.dumps(v)) for k, v in variables.items())
    assert raw < LAMBDA_ENVIRONMENT_MAX_BYTES / 4
    # and the key policy fits KMS's
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert len(json.dumps(key["Properties"]["KeyPolicy"])) < KMS_KEY_POLICY_MAX_BYTES / 4


def test_the_synth_time_measure_covers_every_limited_document(full: Synth) -> None:
    sizes = measure(full.app.node.find_child(AUDIT_STACK_NAME))  # type: ignore[arg-type]
    kinds = {what.split(" ")[0] for what in sizes}
    assert kinds == {"role", "function", "key"}
    assert MANAGED_POLICY_MAX_CHARS == 6_144 and ROLE_INLINE_POLICIES_MAX_CHARS == 10_240


def test_a_thousand_accounts_without_an_organization_stop_the_synth_in_one_line() -> None:
    # Given 1,000 member accounts and no organization: the account list is the condition
    context = {**cdk_json_context(), "memberAccounts": ",".join(MEMBER_ACCOUNTS)}
    # When the app is built, then it refuses, naming the limit and what to do
    with pytest.raises(SettingsError) as raised:
        create_app(context)
    message = str(raised.value)
    assert "\n" not in message
    assert "inline policies would be" in message
    assert "over AWS's limit of 10,240" in message
    assert "organizationId" in message

"""Security Hub: the function's role, the fan-out's merge role and each member role may
import findings into their own account's default product and read them back from their own
account's hub (GetFindings, to reconcile), in the audited regions, and nothing else; off by
default."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constants import AUDIT_FUNCTION_ROLE_NAME

from .conftest import HUB_REGIONS, Synth, synthesize
from .test_fanout import step_role
from .test_iam import _role_id, granted, statements_of

IMPORT = ("securityhub:BatchImportFindings",)
READ = ("securityhub:GetFindings",)
ACCOUNT = "AWS::AccountId.Ref"


def _function_role(synth: Synth) -> str:
    return _role_id(synth.audit, lambda p: p.get("RoleName") == AUDIT_FUNCTION_ROLE_NAME)


def _member_role(synth: Synth) -> str:
    (role_id,) = synth.member.find_resources("AWS::IAM::Role")
    return role_id


def _imports(template: Any, role_id: str) -> set[tuple[tuple[str, ...], str]]:
    return {grant for grant in granted(template, role_id) if "securityhub" in grant[0][0]}


def _products(regions: tuple[str, ...]) -> set[tuple[tuple[str, ...], str]]:
    """Import into the default product, read back from the hub: in each region."""
    return {
        (IMPORT, f"arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default")
        for region in regions
    } | {(READ, f"arn:aws:securityhub:{region}:{ACCOUNT}:hub/default") for region in regions}


@pytest.fixture(scope="module")
def hub_fanned_out(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        tmp_path_factory.mktemp("hub-fanout"),
        organization="true",
        securityHub="true",
        regions=",".join(HUB_REGIONS),
    )


def test_the_merge_step_imports_and_reads_back_only_its_own_accounts_findings(
    hub_fanned_out: Synth,
) -> None:
    merge = step_role(hub_fanned_out, "Merge")
    assert _imports(hub_fanned_out.audit, merge) == _products(HUB_REGIONS)


def test_the_function_imports_only_into_its_accounts_default_product_per_region(
    hub: Synth,
) -> None:
    assert _imports(hub.audit, _function_role(hub)) == _products(HUB_REGIONS)


def test_each_member_role_imports_only_into_its_own_default_product(hub: Synth) -> None:
    # The member stack's AWS::AccountId is the member account: its own product, no other
    assert _imports(hub.member, _member_role(hub)) == _products(HUB_REGIONS)
    (statement,) = [
        s
        for s in statements_of(hub.member, _member_role(hub))
        if s["Action"] == "securityhub:BatchImportFindings"
    ]
    assert statement["Effect"] == "Allow" and "Condition" not in statement


def test_without_regions_the_stacks_own_region_and_partition(hub_here: Synth) -> None:
    here = "arn:AWS::Partition.Ref:securityhub:AWS::Region.Ref"
    expected = {
        (IMPORT, f"{here}:{ACCOUNT}:product/{ACCOUNT}/default"),
        (READ, f"{here}:{ACCOUNT}:hub/default"),
    }
    assert _imports(hub_here.audit, _function_role(hub_here)) == expected
    assert _imports(hub_here.member, _member_role(hub_here)) == expected


def test_the_function_is_told_to_import(hub: Synth, default: Synth) -> None:
    def environment(synth: Synth) -> dict[str, Any]:
        (function,) = synth.audit.find_resources("AWS::Lambda::Function").values()
        variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
        return variables

    assert environment(hub)["SECURITY_HUB"] == "true"
    assert "SECURITY_HUB" not in environment(default)


def test_off_by_default_no_role_may_import(default: Synth, without_bucket: Synth) -> None:
    for synth in (default, without_bucket):
        assert _imports(synth.audit, _function_role(synth)) == set()
        assert _imports(synth.member, _member_role(synth)) == set()


def test_cdk_nag_finds_nothing_new_with_security_hub_on(hub: Synth, hub_here: Synth) -> None:
    # synth raises on an unacknowledged finding; the grants add no acknowledgement either
    for synth in (hub, hub_here):
        for template in (synth.audit, synth.member):
            for role_id in template.find_resources("AWS::IAM::Role"):
                for statement in statements_of(template, role_id):
                    if str(statement["Action"]).startswith("securityhub:"):
                        assert "*" not in str(statement["Resource"])


def test_with_every_region_one_product_arn_per_partition(full: Synth) -> None:
    # regions=all: the default product in every region of the partition, as one ARN with a
    # region wildcard (one ARN per region took 2,551 of a role's 10,240 policy characters)
    assert _imports(full.audit, _function_role(full)) == {
        (IMPORT, f"arn:aws:securityhub:*:{ACCOUNT}:product/{ACCOUNT}/default"),
        (READ, f"arn:aws:securityhub:*:{ACCOUNT}:hub/default"),
    }

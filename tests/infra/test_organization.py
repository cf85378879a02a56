"""Organization mode in the stack: the function's environment and exact grants, the member
role StackSet, cdk-nag, and the context checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit import constants as fn
from infra.app import create_app
from infra.constants import MEMBER_ROLE_STACK_NAME, MEMBER_ROLE_STACK_SET_STACK_NAME
from infra.settings import SettingsError

from .conftest import AUDIT_ACCOUNT, EMAILS, Synth, cdk_json_context, synthesize
from .test_iam import _base_grants, _bucket_grants, _function_role, _ids, granted, statements_of

UNITS = ("ou-ab12-11111111", "ou-ab12-22222222")
ROLE_NAME = "hsm-reader"
SAME_ORGANIZATION = {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """organization=true and nothing else: the key must be enough on its own."""
    return synthesize(tmp_path_factory.mktemp("organization"), organization=True)


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Two units, another role name, and the StackSet from a delegated administrator."""
    return synthesize(
        tmp_path_factory.mktemp("units"),
        organization="true",
        organizationalUnits=",".join(UNITS),
        memberRoleName=ROLE_NAME,
        memberRoleStackSet="true",
        stackSetCallAs="DELEGATED_ADMIN",
        auditAccountId=AUDIT_ACCOUNT,
        notificationEmails=",".join(EMAILS),
    )


def _variables(synth: Synth) -> dict[str, Any]:
    (function,) = [
        resource
        for name, resource in synth.audit.find_resources("AWS::Lambda::Function").items()
        if "FanOut" not in name  # the fan-out's functions share this environment
    ]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _member_role_arn(name: str) -> str:
    return f"arn:<AWS::Partition>:iam::*:role/{name}"


def _assume_statement(synth: Synth) -> dict[str, Any]:
    (statement,) = [
        s
        for s in statements_of(synth.audit, _function_role(synth))
        if s["Action"] == "sts:AssumeRole"
    ]
    return statement


def test_organization_alone_lists_accounts_and_assumes_the_member_role_in_the_org(
    organization: Synth,
) -> None:
    # The function's grants: the usual ones, ListAccounts, and the member role by name in
    # any account of the caller's own organization only
    ids = _ids(organization)
    role = _function_role(organization)
    assert granted(organization.audit, role) == _base_grants(ids) | _bucket_grants(ids) | {
        (("organizations:ListAccounts",), "*"),
        (("sts:AssumeRole",), "arn:AWS::Partition.Ref:iam::*:role/hsm-backup-audit-member"),
    }
    assert _assume_statement(organization)["Condition"] == SAME_ORGANIZATION
    variables = _variables(organization)
    assert variables[fn.ENV_ORGANIZATION] == "true"
    assert variables[fn.ENV_MEMBER_ROLE_NAME] == "hsm-backup-audit-member"
    assert fn.ENV_ORGANIZATIONAL_UNITS not in variables
    # and no StackSet unless asked for
    assert organization.app.node.try_find_child(MEMBER_ROLE_STACK_SET_STACK_NAME) is None


def test_without_organization_nothing_of_it_is_granted(default: Synth) -> None:
    assert fn.ENV_ORGANIZATION not in _variables(default)
    actions = {
        action
        for s in statements_of(default.audit, _function_role(default))
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {a for a in actions if a.startswith("organizations:") or a == "sts:AssumeRole"}


def test_units_read_only_those_units_through_the_named_role(units: Synth) -> None:
    ids = _ids(units)
    expected_base = _base_grants(ids) | _bucket_grants(ids)
    assert granted(units.audit, _function_role(units)) == expected_base | {
        (
            (
                "organizations:ListAccountsForParent",
                "organizations:ListOrganizationalUnitsForParent",
            ),
            "*",
        ),
        (("sts:AssumeRole",), f"arn:AWS::Partition.Ref:iam::*:role/{ROLE_NAME}"),
    }
    assert _assume_statement(units)["Condition"] == SAME_ORGANIZATION
    variables = _variables(units)
    assert variables[fn.ENV_MEMBER_ROLE_NAME] == ROLE_NAME
    assert variables[fn.ENV_ORGANIZATIONAL_UNITS] == ",".join(UNITS)
    # the member role stack creates the role under the same name
    (member_role,) = units.member.find_resources("AWS::IAM::Role").values()
    assert member_role["Properties"]["RoleName"] == ROLE_NAME


def _stack_set(synth: Synth) -> dict[str, Any]:
    template = synth.template_json(MEMBER_ROLE_STACK_SET_STACK_NAME)
    (resource,) = template["Resources"].values()
    assert resource["Type"] == "AWS::CloudFormation::StackSet"
    properties: dict[str, Any] = resource["Properties"]
    return properties


def test_the_stack_set_deploys_the_member_role_stack_to_every_account_of_the_units(
    units: Synth,
) -> None:
    stack_set = _stack_set(units)
    # service-managed, to each account of the target units and to each that joins later
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["CallAs"] == "DELEGATED_ADMIN"
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set["StackInstancesGroup"] == [
        {
            "DeploymentTargets": {"OrganizationalUnitIds": list(UNITS)},
            "Regions": [{"Ref": "AWS::Region"}],
        }
    ]
    assert stack_set["Parameters"] == [
        {"ParameterKey": "AuditAccountId", "ParameterValue": AUDIT_ACCOUNT}
    ]
    # its template is exactly the member-role stack's
    assert json.loads(stack_set["TemplateBody"]) == units.template_json(MEMBER_ROLE_STACK_NAME)


def test_the_stack_set_from_the_management_account_to_the_whole_organization(
    tmp_path: Path,
) -> None:
    # Given the StackSet alone, aimed at the root, with the audit account named
    synth = synthesize(
        tmp_path, memberRoleStackSet=True, stackSetTargets="r-ab12", auditAccountId=AUDIT_ACCOUNT
    )
    stack_set = _stack_set(synth)
    # Then it is called as the management account, targets the root, and every member
    # role trusts the audit account's roles
    assert stack_set["CallAs"] == "SELF"
    assert stack_set["StackInstancesGroup"][0]["DeploymentTargets"] == {
        "OrganizationalUnitIds": ["r-ab12"]
    }
    assert stack_set["Parameters"] == [
        {"ParameterKey": "AuditAccountId", "ParameterValue": AUDIT_ACCOUNT}
    ]
    assert json.loads(stack_set["TemplateBody"]) == synth.template_json(MEMBER_ROLE_STACK_NAME)


def test_the_stack_set_stack_needs_no_cdk_bootstrap(units: Synth) -> None:
    # No BootstrapVersion parameter or rule and no assets: deployable in the management
    # account with its own credentials
    template = units.template_json(MEMBER_ROLE_STACK_SET_STACK_NAME)
    assert "Parameters" not in template
    assert "Rules" not in template
    assert not (units.directory / f"{MEMBER_ROLE_STACK_SET_STACK_NAME}.assets.json").exists()


def test_cdk_nag_passes_with_two_reasoned_acknowledgements(units: Synth) -> None:
    (plugin,) = json.loads((units.directory / "validation-report.json").read_text())[
        "pluginReports"
    ]
    assert plugin["conclusion"] == "success"
    # Both acknowledgements sit on the organization's own policy, nowhere wider
    org_policy = "HsmBackupAudit/Organization/ListAccountsAndAssumeMemberRoles/Resource"
    acknowledged = {
        (found["ruleName"], construct["constructPath"]): found["reason"]
        for found in plugin["suppressedViolations"]
        for construct in found["violatingConstructs"]
    }
    wildcard = acknowledged[("AwsSolutions-IAM5[Resource::*]", org_policy)]
    assert "organizations:ListAccounts" in wildcard
    member_roles = f"AwsSolutions-IAM5[Resource::{_member_role_arn(ROLE_NAME)}]"
    assert "aws:ResourceOrgID" in acknowledged[(member_roles, org_policy)]
    assert {path for _, path in acknowledged} <= {
        org_policy,
        "HsmBackupAudit/Audit/ReadCloudHsmBackups/Resource",
        "HsmBackupAudit/Audit/WriteTraces/Resource",
        "HsmBackupAudit/Schedule/DeadLetterQueue/Resource",
        "HsmBackupAuditMemberRole/MemberRole/Resource",
        "HsmBackupAudit/Reports/Bucket/Resource",  # S1: the report bucket is on by default
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",  # its prefixes, never Resource::*
    } | {path for _, path in acknowledged if path.startswith("HsmBackupAudit/FanOut/")}
    # (organization mode's fan-out: each of its acknowledgements in tests/infra/test_fanout.py)
    assert (
        "AwsSolutions-IAM5[Resource::*]",
        "HsmBackupAudit/Audit/Role/DefaultPolicy/Resource",
    ) not in acknowledged


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"organizationalUnits": UNITS[0]}, "organizationalUnits needs organization=true"),
        (
            {"organization": "true", "organizationalUnits": "r-ab12"},
            "organizationalUnits: 'r-ab12' is not an organizational unit id",
        ),
        ({"organization": "yes"}, "organization: expected true or false"),
        ({"memberRoleName": "bad name"}, "memberRoleName: 'bad name' is not an IAM role name"),
        ({"memberRoleStackSet": "true"}, "memberRoleStackSet needs stackSetTargets"),
        # from the management account, the deploying account is not the audit account:
        # every member role would trust a role there
        (
            {"memberRoleStackSet": "true", "stackSetTargets": "r-ab12"},
            "memberRoleStackSet needs auditAccountId: the account the audit stack runs in",
        ),
        (
            {"memberRoleStackSet": "true", "stackSetTargets": "o-abcdefghij"},
            "stackSetTargets: 'o-abcdefghij' is not a root id",
        ),
        (
            {
                "memberRoleStackSet": "true",
                "stackSetTargets": "r-ab12",
                "stackSetCallAs": "ME",
                "auditAccountId": AUDIT_ACCOUNT,
            },
            "stackSetCallAs: expected SELF or DELEGATED_ADMIN",
        ),
    ],
)
def test_bad_organization_context_is_one_line(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), **context})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)

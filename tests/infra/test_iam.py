"""Least privilege: every role's statements, with their exact actions and resources.

A widened policy (a new action, a wildcard action, another resource) fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.constants import AUDIT_FUNCTION_ROLE_NAME, MEMBER_ROLE_NAME

from .conftest import ORGANIZATION_ID, Synth, synthesize

Statement = tuple[tuple[str, ...], str]


def _role_id(template: Template, predicate: Any) -> str:
    (role_id,) = [
        logical_id
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if predicate(role["Properties"])
    ]
    return role_id


def _actions(statement: dict[str, Any]) -> tuple[str, ...]:
    actions = statement["Action"]
    return tuple(sorted([actions] if isinstance(actions, str) else actions))


def statements_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement granted to a role: its inline policies and attached policies."""
    role = template.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    found = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    assert not role.get("ManagedPolicyArns"), "no managed policies"
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert all(s["Effect"] == "Allow" for s in found)
    return found


def granted(template: Template, role_id: str) -> set[tuple[tuple[str, ...], str]]:
    """{(sorted actions, resource as JSON-ish text)}: one entry per statement and resource."""
    pairs = set()
    for statement in statements_of(template, role_id):
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            pairs.add((_actions(statement), _short(resource)))
    return pairs


def _short(resource: Any) -> str:
    """A resource written the way a reviewer reads it: `*`, `Topic.Ref`, `Key.Arn`..."""
    if isinstance(resource, str):
        return resource
    if "Ref" in resource:
        return f"{resource['Ref']}.Ref"
    if "Fn::GetAtt" in resource:
        return ".".join(resource["Fn::GetAtt"])
    if "Fn::Select" in resource:  # e.g. a state machine's name: part 6 of its ARN
        index, split = resource["Fn::Select"]
        return f"{_short(split['Fn::Split'][1])}[{index}]"
    parts = resource["Fn::Join"][1]
    return "".join(_short(part) for part in parts)


def _ids(synth: Synth) -> dict[str, str]:
    template = synth.audit
    ids = {}
    for kind, name in [
        ("AWS::Logs::LogGroup", "log"),
        ("AWS::SNS::Topic", "topic"),
        ("AWS::KMS::Key", "key"),
        ("AWS::Lambda::Function", "function"),
        ("AWS::SQS::Queue", "dlq"),
        ("AWS::S3::Bucket", "bucket"),
    ]:
        # the audit's own resources (the fan-out's are checked in test_fanout.py)
        found = [name for name in template.find_resources(kind) if "FanOut" not in name]
        if found:
            (ids[name],) = found
    return ids


def _function_role(synth: Synth) -> str:
    return _role_id(synth.audit, lambda p: p.get("RoleName") == AUDIT_FUNCTION_ROLE_NAME)


def _base_grants(ids: dict[str, str]) -> set[Statement]:
    return {
        (("logs:CreateLogStream", "logs:PutLogEvents"), f"{ids['log']}.Arn"),
        (("cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"), "*"),
        (("sns:Publish",), f"{ids['topic']}.Ref"),
        (("kms:Decrypt", "kms:GenerateDataKey"), f"{ids['key']}.Arn"),
        (("xray:PutTelemetryRecords", "xray:PutTraceSegments"), "*"),
        # the on-failure destination: CDK's grant to send to the dead-letter queue
        (("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"), f"{ids['dlq']}.Arn"),
    }


def _bucket_grants(ids: dict[str, str]) -> set[Statement]:
    """Reports, the run history and the monthly evidence written and read back; delivery
    markers written; the history's versions read; the bucket listed under those prefixes
    only (the s3:prefix condition is checked in test_fanout.py), so a history pointer, a
    marker or an evidence page is looked up by listing its key."""
    return {
        (("s3:GetObject", "s3:PutObject"), f"{ids['bucket']}.Arn/reports/*"),
        (("s3:GetObject", "s3:PutObject"), f"{ids['bucket']}.Arn/history/*"),
        (("s3:GetObject", "s3:PutObject"), f"{ids['bucket']}.Arn/evidence/*"),
        (("s3:PutObject",), f"{ids['bucket']}.Arn/deliveries/*"),
        # the monthly evidence page: each run's history entry, from its versions
        (("s3:GetObjectVersion",), f"{ids['bucket']}.Arn/history/*"),
        (("s3:ListBucket", "s3:ListBucketVersions"), f"{ids['bucket']}.Arn"),
    }


def test_function_role_grants_exactly_what_the_function_calls(default: Synth) -> None:
    ids = _ids(default)
    expected = _base_grants(ids) | _bucket_grants(ids)
    assert granted(default.audit, _function_role(default)) == expected


MEMBER_ROLES = f"arn:AWS::Partition.Ref:iam::*:role/{MEMBER_ROLE_NAME}"


def test_without_the_report_bucket_no_s3_grant(without_bucket: Synth) -> None:
    ids = _ids(without_bucket)
    assert granted(without_bucket.audit, _function_role(without_bucket)) == _base_grants(ids)


def test_function_role_with_member_accounts(full: Synth) -> None:
    ids = _ids(full)
    expected = (
        _base_grants(ids)
        | _bucket_grants(ids)
        | {
            # regions `all`: the regions enabled for the account, asked at each run
            (("ec2:DescribeRegions",), "*"),
            (("sts:AssumeRole",), MEMBER_ROLES),
        }
    )
    grants = granted(full.audit, _function_role(full))
    # securityHub=true: its own default product and hub in each region (test_security_hub_iam.py)
    hub = {g for g in grants if g[0][0].startswith("securityhub:")}
    assert {actions for actions, _ in hub} == {
        ("securityhub:BatchImportFindings",),
        ("securityhub:GetFindings",),
    }
    assert grants - hub == expected


def _assume_role_condition(synth: Synth) -> Any:
    (statement,) = [
        s
        for s in statements_of(synth.audit, _function_role(synth))
        if s["Action"] == "sts:AssumeRole"
    ]
    return statement["Condition"]


def test_member_roles_are_one_name_in_the_organizations_accounts(full: Synth) -> None:
    # 1,000 accounts: one grant whose size does not grow with them
    assert _assume_role_condition(full) == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}}


def test_without_an_organization_the_grant_lists_the_member_accounts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    accounts = ["111111111111", "222222222222"]
    synth = synthesize(tmp_path_factory.mktemp("accounts"), memberAccounts=",".join(accounts))
    assert _assume_role_condition(synth) == {"StringEquals": {"aws:ResourceAccount": accounts}}


def test_scheduler_role_may_only_invoke_the_function_and_park_failures(default: Synth) -> None:
    ids = _ids(default)
    role_id = _role_id(
        default.audit,
        lambda p: (
            p["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": "scheduler.amazonaws.com"}
        ),
    )
    role = default.audit.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    # The unqualified function only (the schedule invokes no version): no `ARN:*`
    assert granted(default.audit, role_id) == {
        (("lambda:InvokeFunction",), f"{ids['function']}.Arn"),
        (("sqs:SendMessage",), f"{ids['dlq']}.Arn"),
    }


def test_no_wildcard_action_in_any_policy(default: Synth, full: Synth) -> None:
    for synth in (default, full):
        for template in (synth.audit, synth.member):
            for role_id in template.find_resources("AWS::IAM::Role"):
                for statement in statements_of(template, role_id):
                    assert all("*" not in action for action in _actions(statement)), statement


def test_only_the_audit_stack_roles_exist(default: Synth, full: Synth) -> None:
    # The function's role and the scheduler's: no hidden custom-resource roles.
    default.audit.resource_count_is("AWS::IAM::Role", 2)
    full.audit.resource_count_is("AWS::IAM::Role", 2)

"""The fan-out's reach and operations: memberAccounts fanned out (fanOut=true), the synth
warning past the one-Lambda ceiling, the steps' Errors alarms and alarm texts that say how
to run again, and MaxConcurrency checked against the Lambda concurrency quota."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match

from infra.app import create_app
from infra.constants import AUDIT_STACK_NAME
from infra.settings import SettingsError

from .conftest import MEMBER_ACCOUNTS, ORGANIZATION_ID, Synth, cdk_json_context, synthesize
from .test_fanout import step_role
from .test_iam import granted

CEILING = Match.string_like_regexp(".*one 15-minute Lambda.*fanOut=true.*organization=true.*")


@pytest.fixture(scope="module")
def members_fanned_out(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """1,000 listed member accounts (the grant scoped to their organization: an account
    list that long passes IAM's size limit), two regions, on the fan-out."""
    return synthesize(
        tmp_path_factory.mktemp("members-fanout"),
        fanOut="true",
        memberAccounts=",".join(MEMBER_ACCOUNTS),
        organizationId=ORGANIZATION_ID,
        regions="us-east-1,eu-west-1",
    )


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("org-alarms"), organization=True)


def _warnings(synth: Synth) -> Annotations:
    stack = synth.app.node.find_child(AUDIT_STACK_NAME)
    assert isinstance(stack, Stack)
    return Annotations.from_stack(stack)


def test_listed_member_accounts_fan_out_and_only_the_batch_assumes_their_roles(
    members_fanned_out: Synth,
) -> None:
    template = members_fanned_out.audit
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine")
    assert schedule["Properties"]["Target"]["Arn"] == {"Ref": machine}
    # the plan reads the accounts from the asset: no Organizations call is granted
    plan = granted(template, step_role(members_fanned_out, "Plan"))
    assert not any(action.startswith("organizations:") for actions, _ in plan for action in actions)
    # the batch assumes the member role in the members' organization only
    batch_role = step_role(members_fanned_out, "Batch")
    assumes = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": batch_role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "sts:AssumeRole"
    ]
    (assume,) = assumes
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}}
    # and the merge, without securityHub, assumes no member role
    merge = granted(template, step_role(members_fanned_out, "Merge"))
    assert not any("sts:AssumeRole" in actions for actions, _ in merge)
    # and the fan-out deploy gets no ceiling warning
    _warnings(members_fanned_out).has_no_warning("*", CEILING)


def test_a_single_run_past_the_one_lambda_ceiling_warns_at_synth(
    full: Synth, default: Synth
) -> None:
    # 1,000 member accounts with every region in one Lambda: about 3,200 s of reading
    _warnings(full).has_warning("*", CEILING)
    _warnings(default).has_no_warning("*", CEILING)


def test_organization_mode_alarms_watch_each_step_and_say_start_the_state_machine(
    organization: Synth, default: Synth
) -> None:
    alarms = {
        a["Properties"]["AlarmName"].removeprefix("HsmBackupAudit-"): a["Properties"]
        for a in organization.audit.find_resources("AWS::CloudWatch::Alarm").values()
    }
    functions = organization.audit.find_resources("AWS::Lambda::Function")
    for step, handler in (("Plan", "plan"), ("Batch", "batch"), ("Merge", "merge")):
        alarm = alarms[f"{step}StepErrors"]
        assert alarm["MetricName"] == "Errors" and alarm["Threshold"] == 0
        (dimension,) = alarm["Dimensions"]
        name = dimension["Value"]["Ref"]
        assert functions[name]["Properties"]["Handler"].endswith(f".{handler}_handler")
    assert "FunctionErrors" not in alarms  # the schedule no longer invokes that function
    texts = [a["AlarmDescription"] for a in alarms.values()]
    assert not any("invoke the function" in text for text in texts)
    assert sum("start the state machine" in text for text in texts) >= 6
    # (a single-run deploy still says to invoke the function)
    single = [
        a["Properties"]["AlarmDescription"]
        for a in default.audit.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    assert not any("state machine" in text for text in single)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"fanoutMaxConcurrency": "40"},
            "fanoutMaxConcurrency: 40 batches at once do not fit lambdaConcurrencyQuota (10) "
            "less 2",
        ),
        (
            {"fanoutMaxConcurrency": "9"},
            "fanoutMaxConcurrency: 9 batches at once do not fit lambdaConcurrencyQuota (10)",
        ),
        ({"lambdaConcurrencyQuota": "none"}, "lambdaConcurrencyQuota: expected a whole number"),
    ],
)
def test_max_concurrency_must_fit_the_lambda_concurrency_quota(
    tmp_path: Path, context: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), "organization": "true", **context}, outdir=str(tmp_path))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)

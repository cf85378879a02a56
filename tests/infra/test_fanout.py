"""Organization mode's fan-out on the synthesized template: the state machine's states and
their order, the Distributed Map's settings, the exact grants of its role, the schedule,
the dead-letter queue and the alarm that cover it, and cdk-nag."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from hsm_backup_audit import fanout as handlers
from hsm_backup_audit.steps import RunInfo
from infra.app import create_app
from infra.settings import SettingsError

from .conftest import Synth, cdk_json_context, synthesize
from .test_iam import _ids, _role_id, granted

RUN_KEYS = [name for name, field in RunInfo.model_fields.items() if field.is_required()]


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("fanout"), organization=True)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        tmp_path_factory.mktemp("tuned"),
        organization="true",
        fanoutBatchSize="25",
        fanoutMaxConcurrency="7",
        fanoutToleratedFailurePercentage="0",
    )


def fanout_grants(ids: dict[str, str]) -> set[tuple[tuple[str, ...], str]]:
    """What the fan-out adds to the function's role: its working files."""
    return {
        (("s3:GetObject", "s3:PutObject"), f"{ids['bucket']}.Arn/fanout/*"),
        (("s3:ListBucket",), f"{ids['bucket']}.Arn"),
    }


def _one(synth: Synth, kind: str) -> tuple[str, Mapping[str, Any]]:
    (found,) = synth.audit.find_resources(kind).items()
    return found


def definition(synth: Synth) -> dict[str, Any]:
    """The ASL, with each CloudFormation reference written as <LogicalId>."""
    _, machine = _one(synth, "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<{part['Ref']}>"
        return f"<{part['Fn::GetAtt'][0]}>"

    document: dict[str, Any] = json.loads("".join(text(p) for p in parts))
    return document


def _functions(synth: Synth) -> dict[str, str]:
    """{logical id: handler} of the fan-out's functions."""
    return {
        name: resource["Properties"]["Handler"]
        for name, resource in synth.audit.find_resources("AWS::Lambda::Function").items()
        if name.startswith("FanOut")
    }


def test_plan_then_the_distributed_map_of_batches_then_merge(organization: Synth) -> None:
    asl = definition(organization)
    states = asl["States"]
    functions = {
        handler.rsplit(".", 1)[1]: name for name, handler in _functions(organization).items()
    }
    # plan -> Batches -> Merge, each step its own function
    assert asl["StartAt"] == "Plan"
    assert list(states) == ["Plan", "Batches", "Merge"]
    assert states["Plan"]["Next"] == "Batches" and states["Batches"]["Next"] == "Merge"
    assert states["Merge"]["End"] is True
    assert states["Plan"]["Resource"] == f"<{functions['plan_handler']}>"
    assert states["Merge"]["Resource"] == f"<{functions['merge_handler']}>"
    # a Distributed Map at the top level, one child execution per batch, which invokes
    # the batch function with retries on Lambda's transient errors
    batches = states["Batches"]
    assert batches["Type"] == "Map"
    processor = batches["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert list(processor["States"]) == ["AuditBatch"]
    child = processor["States"]["AuditBatch"]
    assert child["Resource"] == f"<{functions['batch_handler']}>" and child["End"] is True
    assert "Lambda.TooManyRequestsException" in child["Retry"][0]["ErrorEquals"]
    # too many failed batches still end in the merge (every missing account an error
    # entry), and the Map's results never replace the plan's output the merge reads
    assert batches["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.batches_error", "Next": "Merge"}
    ]
    assert batches["ResultPath"] is None
    assert asl["TimeoutSeconds"] == 4 * 3600


def test_the_map_reads_the_plans_work_list_and_batches_accounts(organization: Synth) -> None:
    ids = _ids(organization)
    batches = definition(organization)["States"]["Batches"]
    assert batches["ItemReader"] == {
        "Resource": "arn:<AWS::Partition>:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": f"<{ids['bucket']}>", "Key.$": "$.work_list"},
    }
    # every child gets {"Items": [...], "BatchInput": what the batch step reads of the plan}
    assert batches["ItemBatcher"] == {
        "MaxItemsPerBatch": 10,
        "BatchInput": {f"{key}.$": f"$.{key}" for key in RUN_KEYS},
    }
    assert set(RUN_KEYS) == {"run", "bucket", "prefix", "generated_at"}
    assert batches["MaxConcurrency"] == 40
    assert batches["ToleratedFailurePercentage"] == 10
    assert batches["ResultWriter"]["Parameters"] == {
        "Bucket": f"<{ids['bucket']}>",
        "Prefix": "fanout/map-results",
    }


def test_batch_size_concurrency_and_tolerance_come_from_context(tuned: Synth) -> None:
    batches = definition(tuned)["States"]["Batches"]
    assert batches["ItemBatcher"]["MaxItemsPerBatch"] == 25
    assert batches["MaxConcurrency"] == 7
    assert "ToleratedFailurePercentage" not in batches  # 0: the service's default, left out


def test_the_steps_run_the_audit_code_as_the_audit_role_with_its_environment(
    organization: Synth,
) -> None:
    ids = _ids(organization)
    audit = organization.audit.find_resources("AWS::Lambda::Function")[ids["function"]]
    for name, handler in _functions(organization).items():
        module, function = handler.rsplit(".", 1)
        assert module == "hsm_backup_audit.fanout" and callable(getattr(handlers, function))
        properties = organization.audit.find_resources("AWS::Lambda::Function")[name]["Properties"]
        assert properties["Role"] == audit["Properties"]["Role"], "member roles trust this role"
        assert properties["Environment"] == audit["Properties"]["Environment"]
        assert properties["LoggingConfig"] == audit["Properties"]["LoggingConfig"]
    assert len(_functions(organization)) == 3


def test_the_state_machine_role_grants_exactly_what_the_definition_needs(
    organization: Synth,
) -> None:
    ids = _ids(organization)
    (machine_id,) = organization.audit.find_resources("AWS::StepFunctions::StateMachine")
    role = _role_id(
        organization.audit,
        lambda p: (
            p["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": "states.amazonaws.com"}
        ),
    )
    invoke = {
        grant
        for name in _functions(organization)
        for grant in (
            (("lambda:InvokeFunction",), f"{name}.Arn"),
            (("lambda:InvokeFunction",), f"{name}.Arn:*"),
        )
    }
    executions = (  # the state machine's name is part 6 of its ARN
        f"arn:AWS::Partition.Ref:states:AWS::Region.Ref:AWS::AccountId.Ref:execution:"
        f"{machine_id}.Ref[6]"
    )
    assert granted(organization.audit, role) == invoke | {
        # the Distributed Map: its child executions (IAM policies for Distributed Map states)
        (("states:StartExecution",), f"{machine_id}.Ref"),
        (("states:DescribeExecution", "states:StopExecution"), f"{executions}:*"),
        (("states:RedriveExecution",), f"{executions}/*:*"),
        # the item reader (work list) and the result writer, in the report bucket
        (("s3:GetObject",), f"arn:AWS::Partition.Ref:s3:::{ids['bucket']}.Ref/*"),
        (
            (
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ),
            f"arn:AWS::Partition.Ref:s3:::{ids['bucket']}.Ref/*",
        ),
        # execution logs and X-Ray: no resource-level permissions exist for these
        (
            (
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery",
            ),
            "*",
        ),
        (
            (
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
            ),
            "*",
        ),
    }


def test_the_function_role_may_use_only_the_fanout_folder_of_the_bucket(
    organization: Synth,
) -> None:
    ids = _ids(organization)
    role = _role_id(organization.audit, lambda p: p.get("RoleName") == "hsm-backup-audit-function")
    grants = granted(organization.audit, role)
    assert (("s3:GetObject", "s3:PutObject"), f"{ids['bucket']}.Arn/fanout/*") in grants
    assert (("s3:ListBucket",), f"{ids['bucket']}.Arn") in grants
    organization.audit.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "s3:ListBucket",
                            "Condition": {"StringLike": {"s3:prefix": ["fanout/*"]}},
                            "Effect": "Allow",
                            "Resource": {"Fn::GetAtt": [ids["bucket"], "Arn"]},
                        }
                    ]
                )
            }
        },
    )


def test_the_schedule_starts_the_state_machine_and_failures_are_parked_and_alarm(
    organization: Synth,
) -> None:
    ids = _ids(organization)
    (machine_id,) = organization.audit.find_resources("AWS::StepFunctions::StateMachine")
    _, schedule = _one(organization, "AWS::Scheduler::Schedule")
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == {"Ref": machine_id}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [ids["dlq"], "Arn"]}}
    # a failed, timed-out or aborted execution goes to the dead-letter queue
    _, rule = _one(organization, "AWS::Events::Rule")
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            "stateMachineArn": [{"Ref": machine_id}],
        },
    }
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [ids["dlq"], "Arn"]}
    # and alarms (a missed run is the NoRunIn26Hours alarm: the merge emits the metrics)
    alarms = organization.audit.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": "HsmBackupAudit-FanOutFailed"}}
    )
    (alarm,) = alarms.values()
    metrics = {
        q["MetricStat"]["Metric"]["MetricName"]: q["MetricStat"]["Metric"]["Dimensions"]
        for q in alarm["Properties"]["Metrics"]
        if "MetricStat" in q
    }
    assert set(metrics) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert all(
        d == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}] for d in metrics.values()
    )
    assert alarm["Properties"]["Threshold"] == 0


def test_without_organization_there_is_no_state_machine(default: Synth) -> None:
    default.audit.resource_count_is("AWS::StepFunctions::StateMachine", 0)
    assert not _functions(default)


def test_cdk_nag_passes_and_each_fanout_acknowledgement_has_a_reason(organization: Synth) -> None:
    (plugin,) = json.loads((organization.directory / "validation-report.json").read_text())[
        "pluginReports"
    ]
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    fanout = {
        found["ruleName"]: found["reason"]
        for found in plugin["suppressedViolations"]
        for construct in found["violatingConstructs"]
        if "/FanOut/" in construct["constructPath"]
    }
    assert len(fanout) == 7  # Resource::*, bucket/*, 2 x executions, 3 x function:*
    assert all(len(reason) > 60 for reason in fanout.values())


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"fanoutBatchSize": "0"}, "fanoutBatchSize: expected 1 to 200 (got 0)"),
        ({"fanoutMaxConcurrency": "many"}, "fanoutMaxConcurrency: expected a whole number"),
        (
            {"fanoutToleratedFailurePercentage": "101"},
            "fanoutToleratedFailurePercentage: expected 0 to 100 (got 101)",
        ),
    ],
)
def test_bad_fanout_context_is_one_line(
    tmp_path: Path, context: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        create_app({**cdk_json_context(), "organization": "true", **context}, outdir=str(tmp_path))
    assert str(raised.value).startswith(message)

"""Organization mode's fan-out on the synthesized template: the state machine's states and
their order, retries, the Distributed Map's settings, the exact grants of its role and of
each step's role, the schedule, the dead-letter queue and the alarms that cover it, and
cdk-nag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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


def step_role(synth: Synth, step: str) -> str:
    """The logical id of one step's role (Plan, Batch, Merge)."""
    (role,) = [
        name
        for name in synth.audit.find_resources("AWS::IAM::Role")
        if name.startswith(f"FanOutRoles{step}Role")
    ]
    return role


def step_grants(ids: dict[str, str]) -> dict[str, set[tuple[tuple[str, ...], str]]]:
    """Each step's exact grants in organization mode (no Security Hub, the stack's region)."""
    bucket = f"{ids['bucket']}.Arn"
    common = {
        (("logs:CreateLogStream", "logs:PutLogEvents"), f"{ids['log']}.Arn"),
        (("xray:PutTelemetryRecords", "xray:PutTraceSegments"), "*"),
    }
    member_role = (
        ("sts:AssumeRole",),
        "arn:AWS::Partition.Ref:iam::*:role/hsm-backup-audit-member",
    )
    return {
        "Plan": common
        | {(("s3:PutObject",), f"{bucket}/fanout/*"), (("organizations:ListAccounts",), "*")},
        "Batch": common
        | {
            (("cloudhsm:DescribeBackups", "cloudhsm:DescribeClusters"), "*"),
            (("s3:PutObject",), f"{bucket}/fanout/*/partials/*"),
            (("s3:GetObject",), f"{bucket}/fanout/*/plan.json"),
            member_role,
        },
        "Merge": common
        | {
            (("s3:GetObject",), f"{bucket}/fanout/*"),
            (("s3:GetObject", "s3:PutObject"), f"{bucket}/reports/*"),
            (("s3:GetObject", "s3:PutObject"), f"{bucket}/history/*"),
            (("s3:GetObject", "s3:PutObject"), f"{bucket}/evidence/*"),
            (("s3:GetObjectVersion",), f"{bucket}/history/*"),
            (("s3:PutObject",), f"{bucket}/deliveries/*"),
            (("s3:ListBucket", "s3:ListBucketVersions"), bucket),
            (("sns:Publish",), f"{ids['topic']}.Ref"),
            (("kms:Decrypt", "kms:GenerateDataKey"), f"{ids['key']}.Arn"),
        },
    }


def _one(synth: Synth, kind: str) -> tuple[str, dict[str, Any]]:
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
    # too many failed batches still end in the merge (every missing account an error
    # entry), and the Map's results never replace the plan's output the merge reads
    assert batches["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.batches_error", "Next": "Merge"}
    ]
    assert batches["ResultPath"] is None
    assert asl["TimeoutSeconds"] == 4 * 3600


def test_every_step_retries_throttling_with_capped_backoff_and_full_jitter(
    organization: Synth,
) -> None:
    states = definition(organization)["States"]
    batch = states["Batches"]["ItemProcessor"]["States"]["AuditBatch"]
    for state, attempts, cap in (
        (states["Plan"], 6, 60),
        (states["Merge"], 6, 60),
        (batch, 12, 120),  # a throttled batch waits for capacity: never counted as failed
    ):
        (retry,) = state["Retry"]
        assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
        assert {"Lambda.ServiceException", "Lambda.SdkClientException"} <= set(retry["ErrorEquals"])
        assert retry["MaxAttempts"] == attempts
        assert retry["IntervalSeconds"] == 2 and retry["BackoffRate"] == 2
        assert retry["MaxDelaySeconds"] == cap
        assert retry["JitterStrategy"] == "FULL"


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
    assert batches["MaxConcurrency"] == 8  # a new account's Lambda concurrency quota (10) - 2
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


def test_the_steps_run_the_audit_code_with_its_environment_each_under_its_own_role(
    organization: Synth,
) -> None:
    ids = _ids(organization)
    audit = organization.audit.find_resources("AWS::Lambda::Function")[ids["function"]]
    roles = set()
    for name, handler in _functions(organization).items():
        module, function = handler.rsplit(".", 1)
        assert module == "hsm_backup_audit.fanout" and callable(getattr(handlers, function))
        properties = organization.audit.find_resources("AWS::Lambda::Function")[name]["Properties"]
        step = function.removesuffix("_handler").capitalize()
        assert properties["Role"] == {"Fn::GetAtt": [step_role(organization, step), "Arn"]}
        roles.add(properties["Role"]["Fn::GetAtt"][0])
        variables = dict(properties["Environment"]["Variables"])
        assert variables.pop("FANOUT_BATCH_SIZE") == "10"  # the merge counts failed batches
        assert variables == audit["Properties"]["Environment"]["Variables"]
        assert properties["LoggingConfig"] == audit["Properties"]["LoggingConfig"]
    assert len(_functions(organization)) == 3 and len(roles) == 3
    # the steps that assume member roles carry the names the member roles trust
    names = {
        step: organization.audit.find_resources("AWS::IAM::Role")[step_role(organization, step)][
            "Properties"
        ].get("RoleName")
        for step in ("Plan", "Batch", "Merge")
    }
    assert names == {
        "Plan": None,
        "Batch": "hsm-backup-audit-batch",
        "Merge": "hsm-backup-audit-merge",
    }


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
        # the item reader (work lists) and the result writer, under fanout/ only: never
        # reports/ or history/
        (("s3:GetObject",), f"{ids['bucket']}.Arn/fanout/*"),
        (
            (
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ),
            f"{ids['bucket']}.Arn/fanout/map-results/*",
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


def test_each_step_role_grants_exactly_what_its_step_calls(organization: Synth) -> None:
    ids = _ids(organization)
    for step, expected in step_grants(ids).items():
        assert granted(organization.audit, step_role(organization, step)) == expected, step
    # the single-run function's role gets nothing of the fan-out's
    function_role = _role_id(
        organization.audit, lambda p: p.get("RoleName") == "hsm-backup-audit-function"
    )
    assert not any(
        "fanout" in resource for _, resource in granted(organization.audit, function_role)
    )


def test_every_bucket_listing_is_limited_to_prefixes(organization: Synth) -> None:
    listings = [
        statement
        for policy in organization.audit.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:ListBucket" in statement["Action"]
    ]
    assert len(listings) == 2  # the single-run function's and the merge step's
    prefixes = sorted(tuple(s["Condition"]["StringLike"]["s3:prefix"]) for s in listings)
    assert prefixes == [
        ("fanout/*", "reports/*", "history/*", "deliveries/*", "evidence/*"),
        ("reports/*", "history/*", "deliveries/*", "evidence/*"),
    ]


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
    # state machine: Resource::*, fanout/*, fanout/map-results/*, 2 x executions,
    # 3 x function:*; the steps' roles: their traces, CloudHSM reads, organization, member
    # roles, and their prefixes of the bucket
    assert all(len(reason) > 60 for reason in fanout.values())
    assert {
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::<{_ids(organization)['bucket']}.Arn>/fanout/*]",
        f"AwsSolutions-IAM5[Resource::<{_ids(organization)['bucket']}.Arn>/fanout/map-results/*]",
        f"AwsSolutions-IAM5[Resource::<{_ids(organization)['bucket']}.Arn>/fanout/*/partials/*]",
    } <= set(fanout)
    assert not any(rule.endswith(".Ref>/*]") or rule.endswith(".Arn>/*]") for rule in fanout)


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

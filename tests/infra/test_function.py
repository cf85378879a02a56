"""The function: runtime, architecture, layer, environment, concurrency, tracing, logs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from hsm_backup_audit import constants as fn
from infra.constants import (
    AUDIT_FUNCTION_ROLE_NAME,
    FUNCTION_RETRY_ATTEMPTS,
    FUNCTION_TIMEOUT_MINUTES,
    HANDLER,
    POWERTOOLS_LAYER_ACCOUNT,
)

from .conftest import EXTERNAL_ID, MEMBER_ROLE_ARNS, Synth, synthesize

LAYER_ARN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":lambda:",
            {"Ref": "AWS::Region"},
            f":{POWERTOOLS_LAYER_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:38",
        ],
    ]
}


def _function(synth: Synth) -> dict[str, Any]:
    functions = synth.audit.find_resources("AWS::Lambda::Function")
    assert len(functions) == 1
    properties: dict[str, Any] = next(iter(functions.values()))["Properties"]
    return properties


def _logical_id(synth: Synth, resource_type: str) -> str:
    (logical_id,) = synth.audit.find_resources(resource_type)
    return logical_id


def test_function_runs_python_on_arm64_with_the_powertools_layer(default: Synth) -> None:
    default.audit.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": HANDLER,
            "Layers": [LAYER_ARN],
            "TracingConfig": {"Mode": "Active"},
            "ReservedConcurrentExecutions": 1,
        },
    )
    assert HANDLER == "hsm_backup_audit.handler.lambda_handler"


def test_timeout_leaves_the_engine_time_to_stop(default: Synth) -> None:
    timeout = _function(default)["Timeout"]
    assert timeout == FUNCTION_TIMEOUT_MINUTES * 60 <= 900
    assert timeout - fn.TIME_RESERVE_SECONDS >= 600  # a scan still gets most of the run


def test_failed_runs_are_retried_then_parked_in_the_dead_letter_queue(default: Synth) -> None:
    function_id = _logical_id(default, "AWS::Lambda::Function")
    queue_id = _logical_id(default, "AWS::SQS::Queue")
    default.audit.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id},
            "MaximumRetryAttempts": FUNCTION_RETRY_ATTEMPTS,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )


def test_default_environment(default: Synth) -> None:
    topic = _logical_id(default, "AWS::SNS::Topic")
    bucket = _logical_id(default, "AWS::S3::Bucket")
    assert _function(default)["Environment"]["Variables"] == {
        fn.ENV_TOPIC_ARN: {"Ref": topic},
        fn.ENV_REGIONS: {"Ref": "AWS::Region"},
        fn.ENV_POLICY_FILE: fn.POLICY_FILE_IN_ASSET,
        fn.ENV_NOTIFY: fn.NOTIFY_ALWAYS,
        fn.ENV_WEEKLY_DIGEST_DAY: "monday",
        fn.ENV_REPORT_BUCKET: {"Ref": bucket},
        fn.ENV_METRICS_NAMESPACE: fn.METRICS_NAMESPACE_DEFAULT,
        fn.ENV_SERVICE_NAME: fn.SERVICE_NAME,
    }


def test_environment_with_every_option(full: Synth) -> None:
    topic = _logical_id(full, "AWS::SNS::Topic")
    bucket = _logical_id(full, "AWS::S3::Bucket")
    assert _function(full)["Environment"]["Variables"] == {
        fn.ENV_TOPIC_ARN: {"Ref": topic},
        fn.ENV_REGIONS: "all",
        fn.ENV_POLICY_FILE: fn.POLICY_FILE_IN_ASSET,
        fn.ENV_NOTIFY: fn.NOTIFY_FINDINGS,
        fn.ENV_WEEKLY_DIGEST_DAY: "friday",
        fn.ENV_REPORT_BUCKET: {"Ref": bucket},
        fn.ENV_MEMBER_ROLE_ARNS: ",".join(MEMBER_ROLE_ARNS),
        fn.ENV_EXTERNAL_ID: EXTERNAL_ID,
        fn.ENV_MAX_WORKERS: "8",
        fn.ENV_METRICS_NAMESPACE: fn.METRICS_NAMESPACE_DEFAULT,
        fn.ENV_SERVICE_NAME: fn.SERVICE_NAME,
    }


def test_listed_regions_are_passed_as_a_comma_list(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given two regions (the synth is cheap to repeat: jsii is warm by now)
    synth = synthesize(tmp_path_factory.mktemp("regions"), regions="eu-west-1, us-east-1")
    # Then the function gets them as one comma list
    assert _function(synth)["Environment"]["Variables"][fn.ENV_REGIONS] == "eu-west-1,us-east-1"


def test_function_logs_to_its_own_log_group_with_retention(default: Synth, full: Synth) -> None:
    log_group = _logical_id(default, "AWS::Logs::LogGroup")
    assert _function(default)["LoggingConfig"] == {"LogGroup": {"Ref": log_group}}
    default.audit.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})
    full.audit.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_function_role_has_the_documented_fixed_name(default: Synth) -> None:
    default.audit.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": AUDIT_FUNCTION_ROLE_NAME,
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {"Principal": {"Service": "lambda.amazonaws.com"}, "Effect": "Allow"}
                    )
                ]
            },
        },
    )
    assert AUDIT_FUNCTION_ROLE_NAME == "hsm-backup-audit-function"

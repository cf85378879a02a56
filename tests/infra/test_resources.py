"""One glance at what each stack holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from .conftest import Synth


def _counts(template_json: Mapping[str, Any]) -> Counter[str]:
    resources = template_json["Resources"]
    assert isinstance(resources, dict)
    return Counter(resource["Type"] for resource in resources.values())


def test_audit_stack_resources(default: Synth) -> None:
    assert _counts(default.audit.to_json()) == {
        "AWS::KMS::Key": 1,
        "AWS::SNS::Topic": 1,
        "AWS::SNS::TopicPolicy": 1,
        "AWS::SNS::Subscription": 2,
        "AWS::Logs::LogGroup": 1,
        "AWS::IAM::Role": 2,
        # the roles' default policies; the function's two `Resource: *` statements alone
        "AWS::IAM::Policy": 4,
        "AWS::Lambda::Function": 1,
        "AWS::Lambda::EventInvokeConfig": 1,
        "AWS::SQS::Queue": 1,
        "AWS::SQS::QueuePolicy": 1,
        "AWS::Scheduler::Schedule": 1,
        "AWS::CloudWatch::Alarm": 5,
        "AWS::CloudWatch::Dashboard": 1,
        "AWS::S3::Bucket": 1,
        "AWS::S3::BucketPolicy": 1,
    }


def test_report_bucket_adds_a_bucket_and_its_policy(default: Synth, without_bucket: Synth) -> None:
    added = _counts(default.audit.to_json()) - _counts(without_bucket.audit.to_json())
    assert added == {"AWS::S3::Bucket": 1, "AWS::S3::BucketPolicy": 1}


def test_member_accounts_add_their_grant(default: Synth, full: Synth) -> None:
    # the member roles' grant, and (regions `all`) ec2:DescribeRegions in a policy of its own
    added = _counts(full.audit.to_json()) - _counts(default.audit.to_json())
    assert added == {"AWS::IAM::Policy": 2}


def test_nothing_needs_docker_or_a_custom_resource(default: Synth, full: Synth) -> None:
    for synth in (default, full):
        types = _counts(synth.audit.to_json())
        assert not [t for t in types if t.startswith("Custom::") or "CloudFormation" in t]

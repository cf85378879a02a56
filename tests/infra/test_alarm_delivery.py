"""Every alarm reaches a person: for each alarm action in the template, the topic policy
and the topic's key policy let that alarm publish, and nobody outside the account can."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Synth
from .policy_eval import ACCOUNT, REGION, Request, Resolver, allowed

CLOUDWATCH = ("Service", "cloudwatch.amazonaws.com")
OTHER_ACCOUNT = "999988887777"
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _alarm_targets(synth: Synth) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(alarm ARN, topic ARN, topic policy, key policy) for every alarm action."""
    template = synth.template_json("HsmBackupAudit")
    resolve = Resolver(template)
    resources = template["Resources"]
    topic_policies = {
        resolve.value(topic): resolve.value(r["Properties"]["PolicyDocument"])
        for r in resources.values()
        if r["Type"] == "AWS::SNS::TopicPolicy"
        for topic in r["Properties"]["Topics"]
    }
    key_policies = {
        resolve.arn(logical_id): resolve.value(r["Properties"]["KeyPolicy"])
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::KMS::Key"
    }
    topic_keys = {
        resolve.ref(logical_id): resolve.value(r["Properties"]["KmsMasterKeyId"])
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic"
    }
    targets = []
    for logical_id, r in resources.items():
        if r["Type"] != "AWS::CloudWatch::Alarm":
            continue
        for action in r["Properties"]["AlarmActions"]:
            topic = resolve.value(action)
            targets.append(
                (
                    resolve.arn(logical_id),
                    topic,
                    topic_policies[topic],
                    key_policies[topic_keys[topic]],
                )
            )
    return targets


def _context(alarm_arn: str, account: str = ACCOUNT) -> dict[str, str]:
    return {
        "aws:SourceArn": alarm_arn,
        "aws:SourceAccount": account,
        "aws:SecureTransport": "true",
    }


def _can_publish(
    topic_arn: str, topic_policy: dict[str, Any], key_policy: dict[str, Any], request: Request
) -> bool:
    """Publishing to an encrypted topic needs sns:Publish and the key's two actions."""
    publish = Request(request.principal, "sns:Publish", topic_arn, request.context)
    key = [
        Request(request.principal, action, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k", request.context)
        for action in KEY_ACTIONS
    ]
    return allowed(topic_policy, publish) and all(allowed(key_policy, k) for k in key)


@pytest.mark.parametrize("synth_name", ["default", "full"])
def test_every_alarm_action_can_publish_to_its_topic(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(synth_name)
    targets = _alarm_targets(synth)
    assert len(targets) == 5
    for alarm_arn, topic, topic_policy, key_policy in targets:
        asked = Request(CLOUDWATCH, "sns:Publish", topic, _context(alarm_arn))
        assert _can_publish(topic, topic_policy, key_policy, asked), alarm_arn


def test_nobody_outside_the_account_can_publish(default: Synth) -> None:
    alarm_arn, topic, topic_policy, key_policy = _alarm_targets(default)[0]
    other_alarm = f"arn:aws:cloudwatch:{REGION}:{OTHER_ACCOUNT}:alarm:HsmBackupAudit-Errors"
    own_other_alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:someone-elses-alarm"
    refused = [
        # CloudWatch on behalf of another account's alarm (the confused deputy)
        Request(CLOUDWATCH, "sns:Publish", topic, _context(other_alarm, OTHER_ACCOUNT)),
        Request(CLOUDWATCH, "sns:Publish", topic, _context(alarm_arn, OTHER_ACCOUNT)),
        # CloudWatch for an alarm of this account that is not this stack's
        Request(CLOUDWATCH, "sns:Publish", topic, _context(own_other_alarm)),
        # CloudWatch without saying whose alarm it is
        Request(CLOUDWATCH, "sns:Publish", topic, {"aws:SecureTransport": "true"}),
        # another service, another account, anyone
        Request(("Service", "events.amazonaws.com"), "sns:Publish", topic, _context(alarm_arn)),
        Request(("AWS", f"arn:aws:iam::{OTHER_ACCOUNT}:root"), "sns:Publish", topic, {}),
        Request(("AWS", "*"), "sns:Publish", topic, {"aws:SecureTransport": "true"}),
    ]
    for asked in refused:
        assert not _can_publish(topic, topic_policy, key_policy, asked), asked


def test_the_stacks_own_account_keeps_its_key_and_tls_is_still_required(default: Synth) -> None:
    _, topic, topic_policy, key_policy = _alarm_targets(default)[0]
    admin = ("AWS", f"arn:aws:iam::{ACCOUNT}:role/Admin")
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    assert allowed(key_policy, Request(admin, "kms:PutKeyPolicy", key_arn))
    no_tls = dict(_context(_alarm_targets(default)[0][0]), **{"aws:SecureTransport": "false"})
    assert not allowed(topic_policy, Request(CLOUDWATCH, "sns:Publish", topic, no_tls))

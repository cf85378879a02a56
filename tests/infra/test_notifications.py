"""The digest topic: a customer managed key CloudWatch alarms may use, TLS, subscriptions."""

from __future__ import annotations

from aws_cdk.assertions import Match

from .conftest import EMAILS, Synth


def test_topic_is_encrypted_with_a_rotating_customer_managed_key(default: Synth) -> None:
    (key_id,) = default.audit.find_resources(
        "AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}}
    )
    default.audit.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )


def test_topic_refuses_requests_without_tls(default: Synth) -> None:
    default.audit.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sns:Publish",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_each_notification_email_gets_a_subscription(default: Synth) -> None:
    (topic_id,) = default.audit.find_resources("AWS::SNS::Topic")
    subscriptions = default.audit.find_resources("AWS::SNS::Subscription")
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions.values()
    ) == [("email", email) for email in sorted(EMAILS)]
    assert all(s["Properties"]["TopicArn"] == {"Ref": topic_id} for s in subscriptions.values())


def test_no_emails_means_no_subscriptions(full: Synth) -> None:
    full.audit.resource_count_is("AWS::SNS::Subscription", 0)

"""Where the digest and the alarms go: one SNS topic, encrypted with its own KMS key."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

CLOUDWATCH = "cloudwatch.amazonaws.com"


class Notifications(Construct):
    """The topic people subscribe to; CloudWatch alarms publish to it too."""

    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = self._build_key()
        self.topic = self._build_topic()
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _build_key(self) -> kms.Key:
        return kms.Key(
            self,
            "TopicKey",
            description="hsm-backup-audit: encrypts the digest topic",
            enable_key_rotation=True,
        )

    def allow_alarms_to_publish(self, alarm_arns: Sequence[str]) -> None:
        """CloudWatch may publish to the topic, and use its key, for these alarms only.

        `enforce_ssl` gives the topic a policy of its own (the TLS Deny), which replaces
        the default that let the account publish: without this statement no alarm email
        is ever sent. CloudWatch names the alarm in aws:SourceArn and its account in
        aws:SourceAccount (SNS and KMS "confused deputy" guidance)."""
        conditions = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnEquals": {"aws:SourceArn": list(alarm_arns)},
        }
        cloudwatch = iam.ServicePrincipal(CLOUDWATCH)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToPublish",
                principals=[cloudwatch],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToUseTheTopicKey",
                principals=[cloudwatch],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=conditions,
            )
        )

    def _build_topic(self) -> sns.Topic:
        return sns.Topic(
            self,
            "Topic",
            display_name="CloudHSM backup audit",
            master_key=self.key,
            enforce_ssl=True,
        )

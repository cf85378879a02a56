"""Where the digest and the alarms go: one SNS topic, encrypted with its own KMS key."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Notifications(Construct):
    """The topic people subscribe to; CloudWatch alarms publish to it too."""

    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = self._build_key()
        self.topic = self._build_topic()
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def _build_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "TopicKey",
            description="hsm-backup-audit: encrypts the digest topic",
            enable_key_rotation=True,
        )
        # CloudWatch alarms publish to an encrypted topic only if the key lets them.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        return key

    def _build_topic(self) -> sns.Topic:
        return sns.Topic(
            self,
            "Topic",
            display_name="CloudHSM backup audit",
            master_key=self.key,
            enforce_ssl=True,
        )

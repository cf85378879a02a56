"""The optional report bucket: only with reportBucket=true, and locked down when it is."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra.constants import REPORT_GLACIER_AFTER_DAYS

from .conftest import Synth


def test_no_bucket_by_default(default: Synth) -> None:
    default.audit.resource_count_is("AWS::S3::Bucket", 0)


def test_bucket_is_versioned_encrypted_private_and_archived(full: Synth) -> None:
    full.audit.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {
                            "Status": "Enabled",
                            "Transitions": [
                                {
                                    "StorageClass": "GLACIER",
                                    "TransitionInDays": REPORT_GLACIER_AFTER_DAYS,
                                }
                            ],
                            "ExpirationInDays": 400,  # reportExpirationDays in FULL_CONTEXT
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 400},
                        }
                    )
                ]
            },
        },
    )
    assert REPORT_GLACIER_AFTER_DAYS == 90


def test_bucket_refuses_requests_without_tls(full: Synth) -> None:
    full.audit.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_bucket_outlives_the_stack(full: Synth) -> None:
    full.audit.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})

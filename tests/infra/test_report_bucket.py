"""The report bucket: on by default (the run history lives there), off with
reportBucket=false, and locked down."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra.constants import (
    DELIVERY_EXPIRATION_DAYS,
    FANOUT_EXPIRATION_DAYS,
    REPORT_GLACIER_AFTER_DAYS,
)

from .conftest import Synth, synthesize


def test_a_bucket_by_default_and_none_when_turned_off(
    default: Synth, without_bucket: Synth
) -> None:
    default.audit.resource_count_is("AWS::S3::Bucket", 1)
    without_bucket.audit.resource_count_is("AWS::S3::Bucket", 0)


def test_reports_are_archived_but_the_history_never_is(default: Synth) -> None:
    # The function reads history/ every run: a pointer in Glacier could not be read.
    (bucket,) = default.audit.find_resources("AWS::S3::Bucket").values()
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert set(rules) >= {"ArchiveThenExpireReports", "ExpireHistory", "ExpireFixJournals"}
    assert rules["ArchiveThenExpireReports"]["Prefix"] == "reports/"
    assert rules["ArchiveThenExpireReports"]["ExpirationInDays"] == 730  # reportExpirationDays
    assert rules["ExpireHistory"] == {
        "Id": "ExpireHistory",
        "Prefix": "history/",
        "Status": "Enabled",
        "ExpirationInDays": 730,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 730},
    }


def test_everything_the_bucket_holds_expires_old_versions_too(default: Synth) -> None:
    # Every prefix the functions and the Distributed Map write has a rule that expires both
    # the current and the replaced versions (the bucket is versioned), and unfinished
    # multipart uploads are aborted wherever they are.
    (bucket,) = default.audit.find_resources("AWS::S3::Bucket").values()
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    by_prefix = {r.get("Prefix", ""): r for r in rules}
    written = ("reports/", "history/", "fanout/", "fanout/map-results/", "deliveries/")
    for prefix in written:
        rule = by_prefix[prefix]
        assert rule["Status"] == "Enabled"
        assert rule["ExpirationInDays"] > 0, prefix
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0, prefix
    assert by_prefix["fanout/"]["ExpirationInDays"] == FANOUT_EXPIRATION_DAYS
    assert by_prefix["deliveries/"]["ExpirationInDays"] == DELIVERY_EXPIRATION_DAYS
    (everywhere,) = [r for r in rules if "Prefix" not in r and "Filter" not in r]
    assert everywhere["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


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
                "Rules": Match.array_with(
                    [
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
                ),
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


def test_object_lock_is_off_by_default_and_compliance_mode_when_asked(
    default: Synth, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (bucket,) = default.audit.find_resources("AWS::S3::Bucket").values()
    assert "ObjectLockEnabled" not in bucket["Properties"]
    assert "ObjectLockConfiguration" not in bucket["Properties"]
    # With reportObjectLockDays: every new object version locked that long, in compliance mode
    locked = synthesize(tmp_path_factory.mktemp("locked"), reportObjectLockDays="365")
    locked.audit.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
            },
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )
    locked.audit.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})

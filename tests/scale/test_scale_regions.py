"""`--region all`: the CloudHSM v2 regions come from botocore's data alone; which of them
are enabled is asked of each account at run time (tests/faults/test_enabled_regions.py)."""

from __future__ import annotations

import socket

import boto3
import pytest

from hsm_backup_audit.aws.cloudhsm import all_regions
from hsm_backup_audit.cli import resolve_regions


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("resolving regions must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_all_regions_come_from_botocore_endpoint_data_without_a_network_call(
    no_network: None,
) -> None:
    # Given no network at all
    # When every CloudHSM region is asked for
    regions = all_regions()
    # Then the well-known ones are there, sorted, once each
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    assert regions == sorted(set(regions))


def test_all_regions_never_lists_a_region_without_cloudhsm(no_network: None) -> None:
    # Given the regions botocore knows for a service offered everywhere, and CloudHSM's own
    session = boto3.session.Session()
    everywhere = set(session.get_available_regions("ec2"))
    cloudhsm = set(session.get_available_regions("cloudhsmv2"))
    without_cloudhsm = everywhere - cloudhsm
    # When every CloudHSM region is asked for
    regions = set(all_regions())
    # Then none of them is a region where CloudHSM is not offered
    assert without_cloudhsm, "botocore lists no region without CloudHSM: pick another check"
    assert not regions & without_cloudhsm
    assert regions == cloudhsm


def test_region_all_mixes_with_named_regions_without_repeats(no_network: None) -> None:
    # Given `--region eu-west-1 --region all,us-east-1,EU-WEST-1` on the command line
    asked = ["eu-west-1", "all,us-east-1,EU-WEST-1"]
    # When the regions are resolved (checked offline; `all` is expanded per account)
    regions = resolve_regions(asked, "us-east-1")
    # Then each name appears once, in order
    assert regions == ["eu-west-1", "all", "us-east-1"]

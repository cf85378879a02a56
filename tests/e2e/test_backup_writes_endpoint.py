"""The fleet server's ModifyBackupAttributes, DeleteBackup and RestoreBackup (moto has none
of them) behave as AWS documents, and every request and answer fits botocore's model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from hsm_backup_audit_demo import PRIMARY, Fleet

Raw = dict[str, list[Any]]


def _client(url: str, raw: Raw) -> Any:
    client = boto3.client("cloudhsmv2", region_name=PRIMARY, endpoint_url=url)

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        raw.setdefault(model.name, []).append(json.loads(http_response.content or b"{}"))

    client.meta.events.register("after-call.cloudhsmv2.*", keep)
    return client


def _fits(
    client: Any,
    operation: str,
    params: dict[str, Any],
    answer: dict[str, Any],
    raw_body: dict[str, Any],
) -> None:
    """The request validates against the input shape; the answer's raw JSON names only
    members of the output shape (and of Backup), and validates as that shape."""
    model = client.meta.service_model.operation_model(operation)
    assert not ParamValidator().validate(params, model.input_shape).has_errors()
    output = model.output_shape
    assert set(raw_body) <= set(output.members)
    backup_shape = output.members["Backup"]
    assert set(raw_body["Backup"]) <= set(backup_shape.members)
    answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(answer, output)
    assert not report.has_errors(), report.generate_report()
    assert set(backup_shape.required_members) <= set(answer["Backup"])


def test_delete_restore_and_modify_as_documented(server_fleet: tuple[str, Fleet]) -> None:
    # Given one READY backup that never expires
    url, fleet = server_fleet
    now = datetime.now(UTC)
    cluster = fleet.add_cluster(PRIMARY)
    backup_id = fleet.add_backup(PRIMARY, cluster, created=now, never_expires=True)
    raw: Raw = {}
    client = _client(url, raw)
    # When NeverExpires is set back to false
    params: dict[str, Any] = {"BackupId": backup_id, "NeverExpires": False}
    answer = client.modify_backup_attributes(**params)
    _fits(client, "ModifyBackupAttributes", params, answer, raw["ModifyBackupAttributes"][0])
    assert answer["Backup"]["NeverExpires"] is False
    # And it is deleted: PENDING_DELETION, permanently deleted seven days on
    answer = client.delete_backup(BackupId=backup_id)
    _fits(client, "DeleteBackup", {"BackupId": backup_id}, answer, raw["DeleteBackup"][0])
    assert answer["Backup"]["BackupState"] == "PENDING_DELETION"
    delete_at = answer["Backup"]["DeleteTimestamp"].replace(tzinfo=UTC)
    assert timedelta(days=7) - timedelta(minutes=1) < delete_at - now < timedelta(days=7, minutes=1)
    # And a second delete is refused, as is restoring a READY backup
    with pytest.raises(ClientError) as refused:
        client.delete_backup(BackupId=backup_id)
    assert refused.value.response["Error"]["Code"] == "CloudHsmInvalidRequestException"
    # When it is restored within the seven days
    answer = client.restore_backup(BackupId=backup_id)
    _fits(client, "RestoreBackup", {"BackupId": backup_id}, answer, raw["RestoreBackup"][0])
    # Then it is READY with no DeleteTimestamp, and DescribeBackups agrees
    assert answer["Backup"]["BackupState"] == "READY"
    assert "DeleteTimestamp" not in answer["Backup"]
    listed = client.describe_backups(Filters={"backupIds": [backup_id]})["Backups"]
    assert [(b["BackupState"], b["NeverExpires"]) for b in listed] == [("READY", False)]
    with pytest.raises(ClientError) as refused:
        client.restore_backup(BackupId=backup_id)
    assert refused.value.response["Error"]["Code"] == "CloudHsmInvalidRequestException"


def test_past_seven_days_the_backup_is_gone(server_fleet: tuple[str, Fleet]) -> None:
    # Given a backup whose deletion was asked eight days ago
    url, fleet = server_fleet
    now = datetime.now(UTC)
    cluster = fleet.add_cluster(PRIMARY)
    gone = fleet.add_backup(
        PRIMARY,
        cluster,
        created=now - timedelta(days=30),
        state="PENDING_DELETION",
        delete_at=now - timedelta(days=1),
    )
    client = _client(url, {})
    # Then it can no longer be restored, and an unknown id is not found
    for backup_id in (gone, "backup-unknownaaaa"):
        with pytest.raises(ClientError) as refused:
            client.restore_backup(BackupId=backup_id)
        assert refused.value.response["Error"]["Code"] == "CloudHsmResourceNotFoundException"

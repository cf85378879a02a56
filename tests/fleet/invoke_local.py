"""`make invoke-local`: invoke the Lambda handler on this machine against a moto server.

The handler runs exactly as in Lambda: it reads its environment, reaches AWS through
AWS_ENDPOINT_URL, and gets a context that counts down like Lambda's. By default this
starts a moto server in this process and seeds the demo fleet into it; with
`--endpoint-url` it uses a server you already run (moto_server, LocalStack) as it is.
An SQS queue subscribed to the topic shows what an email subscriber would receive.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from .fleet import DEFAULT_ACCOUNT, PRIMARY, SECONDARY, seed_demo_fleet

TOPIC_NAME = "hsm-backup-audit-digest"
QUEUE_NAME = "hsm-backup-audit-inbox"
BUCKET_NAME = "hsm-backup-audit-reports"
LAMBDA_TIMEOUT_SECONDS = 900

SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "5e1a3c2b-0000-4000-8000-000000000001",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": DEFAULT_ACCOUNT,
    "time": "2026-11-27T07:00:00Z",
    "region": PRIMARY,
    "resources": [f"arn:aws:events:{PRIMARY}:{DEFAULT_ACCOUNT}:rule/hsm-backup-audit-daily"],
    "detail": {},
}


@dataclass
class LocalContext:
    """What Lambda passes as `context`, with a clock that counts down like Lambda's."""

    timeout_seconds: float = LAMBDA_TIMEOUT_SECONDS
    function_name: str = "hsm-backup-audit"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/hsm-backup-audit"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{PRIMARY}:{DEFAULT_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Inbox:
    """An SQS queue subscribed to the topic: what an email subscriber would get."""

    topic_arn: str
    queue_url: str
    sqs: Any

    def messages(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered so far (Subject, Message, MessageAttributes)."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return found
            for message in batch["Messages"]:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def create_topic_and_inbox(region: str = PRIMARY, topic_name: str = TOPIC_NAME) -> Inbox:
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Inbox(topic_arn, queue_url, sqs)


def create_report_bucket(region: str = PRIMARY, name: str = BUCKET_NAME) -> str:
    boto3.client("s3", region_name=region).create_bucket(Bucket=name)
    return name


def _start_moto_server() -> Any:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def _print_email(inbox: Inbox) -> None:
    for message in inbox.messages():
        attributes = {k: v["Value"] for k, v in message.get("MessageAttributes", {}).items()}
        print("\n===== the email a subscriber gets =====")
        print(f"Subject: {message.get('Subject')}")
        print(f"Message attributes: {json.dumps(attributes)}\n")
        print(message["Message"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="invoke-local", description=__doc__)
    parser.add_argument("--endpoint-url", help="a running moto server or LocalStack (no seeding)")
    parser.add_argument("--regions", default=f"{PRIMARY},{SECONDARY}")
    args = parser.parse_args(argv)

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": PRIMARY,
        "AWS_DEFAULT_REGION": PRIMARY,
    }.items():
        os.environ.setdefault(key, value)
    server = None
    endpoint = args.endpoint_url
    if endpoint is None:
        server, endpoint = _start_moto_server()
        seed_demo_fleet(datetime.now(UTC))
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        inbox = create_topic_and_inbox()
        os.environ.update(
            TOPIC_ARN=inbox.topic_arn, REPORT_BUCKET=create_report_bucket(), REGIONS=args.regions
        )
        from hsm_backup_audit.handler import lambda_handler

        summary = lambda_handler(SCHEDULED_EVENT, LocalContext())
        _print_email(inbox)
        print("\n===== the handler returned =====")
        print(json.dumps(summary, indent=2))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

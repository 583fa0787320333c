"""Fixtures: a moto server on loopback standing in for SQS, a queue per test, the settings
record pointed at it."""

from __future__ import annotations

import uuid

import pytest

from emails import sqs
from emails.sqs import SqsMessage


@pytest.fixture
def aws(moto_server: str, settings) -> str:
    settings.AWS_ENDPOINT_URL = moto_server
    settings.AWS_REGION = "us-east-1"
    return moto_server


@pytest.fixture
def queue_url(aws: str, db) -> str:
    """A fresh queue, stored in the settings record with fast polling values."""
    from emails.config import email_settings_update

    name = f"ses-{uuid.uuid4().hex[:12]}"
    url = sqs.client("us-east-1").create_queue(QueueName=name)["QueueUrl"]
    email_settings_update(queue_url=url, aws_region="us-east-1", wait_time_seconds=0, poll_budget_seconds=20)
    return url


def put(url: str, bodies: list[str]) -> None:
    sqs.send(queue_url=url, region="us-east-1", bodies=bodies)


def depth(url: str) -> int:
    d = sqs.queue_depth(queue_url=url, region="us-east-1")
    return d["visible"] + d["in_flight"]


def msgs(bodies: list[str]) -> list[SqsMessage]:
    """Bodies as if just received from SQS (for processor tests without a queue)."""
    return [SqsMessage(message_id=str(uuid.uuid4()), receipt_handle="rh", body=b) for b in bodies]

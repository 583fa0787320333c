"""SQS, the only module that talks to boto3's SQS client.

The client is made on first use (never at import), keyed by endpoint and region, so a moto server
or a settings override applies. Every boto error leaves as QueueError.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from invoices.exceptions import MessageTooLargeError, QueueError

MAX_MESSAGE_BYTES = 262_144
TRANSIENT_CODES = {
    "ThrottlingException",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
}


@dataclass(frozen=True)
class SqsMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


@functools.cache
def _client(endpoint_url: str | None, region: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
    )


def client() -> Any:
    return _client(settings.AWS_ENDPOINT_URL, settings.AWS_REGION)


def _wrap(action: str, exc: Exception) -> QueueError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return QueueError(f"SQS {action} failed: {code}", transient=code in TRANSIENT_CODES)
    return QueueError(f"SQS {action} failed: {type(exc).__name__}: {exc}", transient=True)


def message_send(*, queue_url: str, body: str) -> str:
    size = len(body.encode())
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(size, MAX_MESSAGE_BYTES)
    try:
        return client().send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("send_message", exc) from exc


def messages_receive(
    *,
    queue_url: str,
    max_messages: int = 10,
    wait_seconds: int = 0,
) -> list[SqsMessage]:
    try:
        resp = client().receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("receive_message", exc) from exc
    return [
        SqsMessage(
            message_id=m["MessageId"],
            receipt_handle=m["ReceiptHandle"],
            body=m.get("Body", ""),
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
        )
        for m in resp.get("Messages", [])
    ]


def message_delete(*, queue_url: str, receipt_handle: str) -> None:
    try:
        client().delete_message(QueueUrl=queue_url, ReceiptHandle=receipt_handle)
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("delete_message", exc) from exc


def message_visibility_change(*, queue_url: str, receipt_handle: str, seconds: int) -> None:
    try:
        client().change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
        )
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("change_message_visibility", exc) from exc


def queue_attributes(*, queue_url: str) -> dict[str, str]:
    try:
        return client().get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("get_queue_attributes", exc) from exc


def queue_url_get(*, name: str) -> str | None:
    try:
        return client().get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ):
            return None
        raise _wrap("get_queue_url", exc) from exc
    except BotoCoreError as exc:
        raise _wrap("get_queue_url", exc) from exc


def queue_ensure(*, name: str, attributes: dict[str, str]) -> str:
    """Create the queue, or bring an existing one to these attributes: safe to run again."""
    try:
        url = queue_url_get(name=name)
        if url is None:
            return client().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        client().set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url
    except (ClientError, BotoCoreError) as exc:
        raise _wrap("create_queue", exc) from exc

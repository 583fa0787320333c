"""SQS for the invoice queues: a few typed calls over the shared client (project.aws).

Every boto error leaves as QueueError, transient or not by project.aws's one error map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoices.exceptions import MessageTooLargeError, QueueError
from project import aws
from project.aws import BOTO_ERRORS

MAX_MESSAGE_BYTES = 262_144


@dataclass(frozen=True)
class SqsMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


def client() -> Any:
    return aws.client("sqs")


def _wrap(action: str, exc: Exception) -> QueueError:
    err = aws.wrap("SQS", action, exc)
    return QueueError(str(err), transient=err.transient)


def message_send(*, queue_url: str, body: str) -> str:
    size = len(body.encode())
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(size, MAX_MESSAGE_BYTES)
    try:
        return client().send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
    except BOTO_ERRORS as exc:
        raise _wrap("send_message", exc) from exc


def messages_send(*, queue_url: str, bodies: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """SendMessageBatch for up to ten bodies keyed by an id of the caller's: one call instead of
    ten. Returns ({id: SQS message id}, {id: why SQS refused that entry}); a batch SQS refuses
    whole raises QueueError."""
    if len(bodies) > 10:
        raise ValueError("SQS takes at most ten messages a batch")
    entries = [{"Id": key, "MessageBody": body} for key, body in bodies.items()]
    size = sum(len(body.encode()) for body in bodies.values())  # SQS's limit is for the whole batch
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(size, MAX_MESSAGE_BYTES)
    try:
        resp = client().send_message_batch(QueueUrl=queue_url, Entries=entries)
    except BOTO_ERRORS as exc:
        raise _wrap("send_message_batch", exc) from exc
    sent = {e["Id"]: e["MessageId"] for e in resp.get("Successful", [])}
    refused = {
        f["Id"]: f"{f.get('Code', 'refused')}: {f.get('Message', '')}"[:300] for f in resp.get("Failed", [])
    }
    return sent, refused


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
    except BOTO_ERRORS as exc:
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
    except BOTO_ERRORS as exc:
        raise _wrap("delete_message", exc) from exc


def message_visibility_change(*, queue_url: str, receipt_handle: str, seconds: int) -> None:
    try:
        client().change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
        )
    except BOTO_ERRORS as exc:
        raise _wrap("change_message_visibility", exc) from exc


def queue_attributes(*, queue_url: str) -> dict[str, str]:
    try:
        return client().get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    except BOTO_ERRORS as exc:
        raise _wrap("get_queue_attributes", exc) from exc


def queue_url_get(*, name: str) -> str | None:
    try:
        return client().get_queue_url(QueueName=name)["QueueUrl"]
    except BOTO_ERRORS as exc:
        if aws.error_code(exc) in (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ):
            return None
        raise _wrap("get_queue_url", exc) from exc


def queue_ensure(*, name: str, attributes: dict[str, str]) -> str:
    """Create the queue, or bring an existing one to these attributes: safe to run again."""
    try:
        url = queue_url_get(name=name)
        if url is None:
            return client().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        client().set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url
    except BOTO_ERRORS as exc:
        raise _wrap("create_queue", exc) from exc

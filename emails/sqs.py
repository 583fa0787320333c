"""Amazon SQS for SES events: a few typed calls over the shared client (project.aws).

boto errors are re-raised as SqsError (permanent) or SqsUnavailable (worth a retry), by
project.aws's one error map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from project import aws


class SqsError(Exception):
    """SQS refused the request (bad queue URL, permissions …): retrying will not help."""


class SqsUnavailable(SqsError):
    """SQS could not be reached or throttled us: the poll is retried with backoff."""


@dataclass(frozen=True)
class SqsMessage:
    message_id: str
    receipt_handle: str
    body: str


def client(region: str | None = None) -> Any:
    return aws.client("sqs", region_name=region)


def _wrap(exc: Exception) -> SqsError:
    err = aws.wrap("SQS", "call", exc)
    return (SqsUnavailable if err.transient else SqsError)(str(err))


def receive(
    *,
    queue_url: str,
    region: str,
    max_messages: int,
    wait_seconds: int,
    visibility_timeout: int | None = None,
) -> list[SqsMessage]:
    params: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": max(1, min(int(max_messages), 10)),
        "WaitTimeSeconds": max(0, min(int(wait_seconds), 20)),
        "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
    }
    if visibility_timeout is not None:
        params["VisibilityTimeout"] = visibility_timeout
    try:
        resp = client(region).receive_message(**params)
    except Exception as exc:
        raise _wrap(exc) from exc
    return [
        SqsMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body", "")) for m in resp.get("Messages", [])
    ]


def delete(*, queue_url: str, region: str, messages: list[SqsMessage]) -> list[str]:
    """Delete in batches of ten; returns the ids SQS refused (they come back and are then
    recognised as duplicates)."""
    failed: list[str] = []
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries = [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)]
        try:
            resp = client(region).delete_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            raise _wrap(exc) from exc
        failed += [chunk[int(f["Id"])].message_id for f in resp.get("Failed", [])]
    return failed


def send(*, queue_url: str, region: str, bodies: list[str]) -> None:
    """Send bodies in batches of ten (setup checks, tests and the benchmark feed the queue)."""
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        try:
            resp = client(region).send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            raise _wrap(exc) from exc
        if resp.get("Failed"):
            raise SqsError(f"SQS refused {len(resp['Failed'])} message(s)")


def queue_depth(*, queue_url: str, region: str) -> dict[str, int]:
    try:
        attrs = client(region).get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except Exception as exc:
        raise _wrap(exc) from exc
    return {
        "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def queue_ensure(
    *, name: str, region: str, dlq_name: str, max_receives: int, visibility_timeout: int
) -> tuple[str, str]:
    """Create (or find) the queue and its dead-letter queue, redriving after `max_receives`.
    Returns (queue_url, dlq_url). Running it again changes nothing."""
    sqs = client(region)
    try:
        dlq_url = sqs.create_queue(
            QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)}
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attrs = {
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
            ),
        }
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        else:  # exists: bring its redrive policy and visibility up to date
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
    except Exception as exc:
        raise _wrap(exc) from exc
    return url, dlq_url


def queue_attributes(*, queue_url: str, region: str) -> dict[str, str]:
    try:
        return client(region).get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    except Exception as exc:
        raise _wrap(exc) from exc

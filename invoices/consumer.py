"""The SQS consumer: a beat-driven, single-flight poll that drains the priority queue before the
regular one and hands each message to a send job. The send job deletes the message only after
the outcome is recorded; a transient failure leaves it for SQS to deliver again (with backoff),
and after the queue's redrive count SQS moves it to the dead-letter queue."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import IntegrityError

from invoices import sqs
from invoices.exceptions import QueueError, TransientSendError
from invoices.models import EmailAttempt, EmailKind, RejectedMessage
from invoices.queues import MESSAGE_VERSION, QUEUES, max_receive_count, queue_url
from invoices.sending import FINAL_OUTCOMES, email_attempt_send

logger = logging.getLogger("invoices")
MAX_VISIBILITY = 43_200  # SQS's ceiling, 12 h
RETRY = "retry"


def invoice_queues_poll(*, max_messages: int | None = None) -> dict[str, int]:
    """One poll run. Before every batch from the regular queue the priority queue is asked
    first, so a full regular queue never delays a password reset."""
    counts = {"priority": 0, "regular": 0, "rejected": 0}
    if settings.QUEUE_PROVIDER != "sqs":
        return counts
    budget = max_messages or settings.INVOICES_POLL_MAX_MESSAGES
    urls = {queue: queue_url(queue) for queue in QUEUES}
    while budget > 0:
        for queue in QUEUES:
            batch = sqs.messages_receive(queue_url=urls[queue], max_messages=min(10, budget))
            if batch:
                break
        else:
            break  # both queues empty
        budget -= len(batch)
        for outcome in _dispatch_batch(queue, urls[queue], batch):
            counts[outcome] += 1
    if any(counts.values()):
        logger.info(
            "invoice queues polled priority=%s regular=%s rejected=%s",
            counts["priority"],
            counts["regular"],
            counts["rejected"],
        )
    return counts


def _dispatch_batch(queue: str, url: str, batch: list[sqs.SqsMessage]) -> list[str]:
    from invoices.tasks import invoice_queue_message_handle_task

    parsed = [(m, *message_parse(m.body)) for m in batch]
    ids = [attempt_id for _, attempt_id, _ in parsed if attempt_id]
    known = dict(EmailAttempt.objects.filter(pk__in=ids).values_list("pk", "kind"))
    outcomes = []
    for message, attempt_id, kind in parsed:
        reason = kind if attempt_id is None else None  # message_parse puts the reason in `kind`
        if reason is None and attempt_id not in known:
            reason = f"no e-mail attempt {attempt_id} (deleted, or not sent by this service)"
        elif reason is None and known[attempt_id] != kind:
            reason = f"kind {kind!r} does not match attempt {attempt_id} ({known[attempt_id]})"
        if reason:
            message_reject(queue=queue, url=url, message=message, reason=reason)
            outcomes.append("rejected")
            continue
        invoice_queue_message_handle_task.apply_async(
            kwargs={
                "queue": queue,
                "attempt_id": attempt_id,
                "receipt_handle": message.receipt_handle,
                "receive_count": message.receive_count,
            }
        )
        outcomes.append(queue)
    return outcomes


def message_parse(body: str) -> tuple[int | None, str]:
    """(attempt_id, kind) for a good message; (None, reason) for a malformed one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    if data.get("v") != MESSAGE_VERSION:
        return None, f"unknown message version {data.get('v')!r}"
    attempt_id = data.get("attempt_id")
    if isinstance(attempt_id, bool) or not isinstance(attempt_id, int) or attempt_id < 1:
        return None, "attempt_id missing or not a positive integer"
    if data.get("kind") not in EmailKind.values:
        return None, f"unknown kind {str(data.get('kind'))[:40]!r}"
    return attempt_id, data["kind"]


def message_reject(*, queue: str, url: str, message: sqs.SqsMessage, reason: str) -> None:
    """Keep it for a person, then delete it: a malformed message is never retried forever."""
    try:
        RejectedMessage.objects.get_or_create(
            queue=queue,
            message_id=message.message_id,
            defaults={"body": message.body[:100_000], "reason": reason[:300]},
        )
    except IntegrityError:  # recorded by a concurrent poll of the same redelivered message
        pass
    logger.warning(
        "invoice queue message rejected queue=%s message=%s reason=%s", queue, message.message_id, reason
    )
    sqs.message_delete(queue_url=url, receipt_handle=message.receipt_handle)


def queue_message_handle(*, queue: str, attempt_id: int, receipt_handle: str, receive_count: int) -> str:
    """Send, record, then delete. On a transient failure the message stays and comes back after
    a growing visibility timeout; SQS counts the deliveries and dead-letters it at the limit."""
    url = queue_url(queue)
    final = receive_count >= max_receive_count(queue)
    try:
        outcome = email_attempt_send(attempt_id=attempt_id, final=final)
    except TransientSendError:
        delay = min(settings.INVOICES_RETRY_BASE_DELAY * 2 ** max(receive_count - 1, 0), MAX_VISIBILITY)
        try:
            sqs.message_visibility_change(queue_url=url, receipt_handle=receipt_handle, seconds=delay)
        except QueueError:  # it comes back after the queue's own visibility timeout instead
            logger.warning("could not set retry delay attempt=%s", attempt_id)
        return RETRY
    if outcome in FINAL_OUTCOMES:
        sqs.message_delete(queue_url=url, receipt_handle=receipt_handle)
    return outcome

"""The SQS consumer: a single-flight poll that takes the priority queue before the regular one
and hands each message to a send job on its own Celery queue (invoices_priority, consumed by its
own workers, or invoices_regular), so priority mail never waits behind regular mail.

Backpressure: regular mail is received only while fewer than the settings' Celery backlog handed-off
sends wait in Celery (counted from the attempt rows), so SQS keeps the backlog and a message's
visibility timeout covers a short wait, not the whole Celery queue. A poll that stopped for
backpressure or its budget says `more`, and its job snoozes and comes back.

Every receive stores the message's newest receipt handle on the attempt row; the send job reads
it when it deletes (an older handle may "succeed" without deleting), extends the visibility when
the message waited long, and is unique per SQS message id. The send job deletes the message only
after the outcome is recorded; a transient failure leaves it for SQS to deliver again (with
backoff), and after the queue's redrive count SQS moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from invoices import sqs
from invoices.config import invoice_settings_get
from invoices.exceptions import QueueError, TransientSendError
from invoices.models import AttemptStatus, EmailAttempt, EmailKind, RejectedMessage
from invoices.queues import (
    MESSAGE_VERSION,
    QUEUES,
    REGULAR,
    celery_queue,
    max_receive_count,
    queue_url,
    visibility_timeout,
)
from invoices.sending import FINAL_OUTCOMES, email_attempt_send

logger = logging.getLogger("invoices")
MAX_VISIBILITY = 43_200  # SQS's ceiling, 12 h
RETRY = "retry"
REDELIVER_SOON = 2  # s


def celery_backlog(*, queue: str) -> int:
    """Sends handed to Celery and not finished. A hand-off older than the visibility timeout is
    not counted: its message is visible in SQS again, and a lost job never blocks the poll."""
    since = timezone.now() - timedelta(seconds=visibility_timeout(queue))
    return EmailAttempt.objects.filter(queue=queue, handed_off_at__gte=since).count()


def sqs_attempts_waiting() -> bool:
    """Attempts queued on SQS and not finished: the poll drains them even after the provider
    was switched to Celery in the settings."""
    waiting = (AttemptStatus.QUEUED, AttemptStatus.RETRYING, AttemptStatus.SENDING)
    return EmailAttempt.objects.filter(provider="sqs", status__in=waiting).exists()


def retry_delay(*, tries: int) -> int:
    """Seconds before the next try after a transient failure: the settings' base, doubling."""
    base = invoice_settings_get().retry_base_delay
    return min(base * 2 ** max(tries - 1, 0), MAX_VISIBILITY)


def invoice_queues_poll(*, max_messages: int | None = None) -> dict[str, int]:
    """One poll run. Before every batch from the regular queue the priority queue is asked
    first, so a full regular queue never delays a password reset. `more` is 1 when messages may
    be left (budget spent, or regular mail held back by backpressure)."""
    counts = {"priority": 0, "regular": 0, "rejected": 0, "more": 0}
    conf = invoice_settings_get()
    if conf.queue_provider != "sqs" and not sqs_attempts_waiting():
        return counts
    budget = max_messages or settings.INVOICES_POLL_MAX_MESSAGES
    urls = {queue: queue_url(queue) for queue in QUEUES}
    while budget > 0:
        batch: list[sqs.SqsMessage] = []
        for queue in QUEUES:
            room = budget
            if queue == REGULAR:
                room = min(budget, conf.celery_backlog - celery_backlog(queue=REGULAR))
                if room <= 0:
                    counts["more"] = 1
                    continue
            batch = sqs.messages_receive(queue_url=urls[queue], max_messages=min(10, room))
            if batch:
                break
        if not batch:
            break  # both queues empty, or only held-back regular mail left
        budget -= len(batch)
        for outcome in _dispatch_batch(queue, urls[queue], batch):
            counts[outcome] += 1
    if budget <= 0:
        counts["more"] = 1
    if counts["priority"] or counts["regular"] or counts["rejected"]:
        logger.info(
            "invoice queues polled priority=%s regular=%s rejected=%s more=%s",
            counts["priority"],
            counts["regular"],
            counts["rejected"],
            counts["more"],
        )
    return counts


def _dispatch_batch(queue: str, url: str, batch: list[sqs.SqsMessage]) -> list[str]:
    from invoices.tasks import invoice_queue_message_handle_task

    parsed = [(m, *_parse_guarded(m)) for m in batch]
    ids = [attempt_id for _, attempt_id, _ in parsed if attempt_id]
    known = {a.pk: a for a in EmailAttempt.objects.filter(pk__in=ids).only("pk", "kind", "handed_off_at")}
    outcomes, accepted = [], []
    for message, attempt_id, kind in parsed:
        attempt = None if attempt_id is None else known.get(attempt_id)
        if attempt_id is None:
            reason = kind  # message_parse puts the reason in `kind`
        elif attempt is None:
            reason = f"no e-mail attempt {attempt_id} (deleted, or not sent by this service)"
        elif attempt.kind != kind:
            reason = f"kind {kind!r} does not match attempt {attempt_id} ({attempt.kind})"
        else:
            accepted.append((message, attempt))
            outcomes.append(queue)
            continue
        message_reject(queue=queue, url=url, message=message, reason=reason)
        outcomes.append("rejected")
    now, received_at = timezone.now(), time.time()
    waiting = {a.pk for _, a in accepted if a.handed_off_at is not None}
    for message, attempt in accepted:
        attempt.handed_off_at, attempt.receipt_handle = now, message.receipt_handle
    # The receipt is committed before its jobs are published (not in one transaction with them:
    # the jobs layer's history writer, shared by a worker's threads, must never wait on these
    # row locks). A job published without its row is impossible; a row without its job (the
    # broker refused) is no longer counted once its visibility timeout has passed.
    EmailAttempt.objects.bulk_update([a for _, a in accepted], ["handed_off_at", "receipt_handle"])
    for message, attempt in accepted:
        result = invoice_queue_message_handle_task.apply_async(
            kwargs={
                "queue": queue,
                "attempt_id": attempt.pk,
                "message_id": message.message_id,
                "receive_count": message.receive_count,
                "received_at": received_at,
            },
            queue=celery_queue(queue),
        )
        if getattr(result, "enqueued", None) and result.enqueued.duplicate and attempt.pk not in waiting:
            # The job of the previous delivery is just ending and still holds the message's
            # unique key: no job waits, so let SQS hand the message out again soon rather than
            # after a whole visibility timeout.
            _visibility(url, attempt.pk, REDELIVER_SOON)
    return outcomes


def _parse_guarded(message: sqs.SqsMessage) -> tuple[int | None, str]:
    """Whatever a body does to the parser, it is that message's problem, never the batch's."""
    try:
        return message_parse(message.body)
    except Exception as exc:  # a parser bug on hostile input: reject this one, go on
        # The type only: a traceback's frames could carry the body.
        logger.error(
            "invoice queue message unparseable message=%s error=%s", message.message_id, type(exc).__name__
        )
        return None, f"could not be parsed ({type(exc).__name__})"


def message_parse(body: str) -> tuple[int | None, str]:
    """(attempt_id, kind) for a good message; (None, reason) for a malformed one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, "not JSON"
    except RecursionError:  # e.g. 100k nested arrays: the decoder gives up, the poll must not
        return None, "JSON nested too deeply"
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


def queue_message_handle(
    *, queue: str, attempt_id: int, message_id: str, receive_count: int, received_at: float | None = None
) -> str:
    """Send, record, then delete with the newest receipt handle. On a transient failure the
    message stays and comes back after a growing visibility timeout; SQS counts the deliveries
    and dead-letters it at the limit."""
    url = queue_url(queue)
    final = receive_count >= max_receive_count(queue)
    try:
        visibility = visibility_timeout(queue)
        if received_at is not None and time.time() - received_at > visibility / 2:
            # It waited in Celery for half its window: give the send a whole window of its own.
            _visibility(url, attempt_id, visibility)
        try:
            outcome = email_attempt_send(attempt_id=attempt_id, final=final)
        except TransientSendError:
            delay = retry_delay(tries=receive_count)
            _visibility(url, attempt_id, delay)
            return RETRY
        if outcome in FINAL_OUTCOMES:
            handle = _receipt_handle(attempt_id)
            if handle:
                sqs.message_delete(queue_url=url, receipt_handle=handle)
            else:
                logger.warning("no receipt handle to delete attempt=%s message=%s", attempt_id, message_id)
        return outcome
    finally:
        EmailAttempt.objects.filter(pk=attempt_id).update(handed_off_at=None)


def _receipt_handle(attempt_id: int) -> str:
    return EmailAttempt.objects.filter(pk=attempt_id).values_list("receipt_handle", flat=True).first() or ""


def _visibility(url: str, attempt_id: int, seconds: int) -> None:
    handle = _receipt_handle(attempt_id)
    try:
        if handle:
            sqs.message_visibility_change(queue_url=url, receipt_handle=handle, seconds=seconds)
    except QueueError:  # it comes back after the queue's own visibility timeout instead
        logger.warning("could not change visibility attempt=%s", attempt_id)

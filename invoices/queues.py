"""The two invoice e-mail queues: routing by priority, publishing, and creating them.

The queue message names only an EmailAttempt id. The worker renders the PDF and the message
from the database, so a message never nears SQS's 256 KiB limit and never carries PII.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from emails.suppression import ensure_not_suppressed
from invoices import sqs
from invoices.config import invoice_settings_get
from invoices.exceptions import InvalidPriorityError, QueueError
from invoices.models import AttemptStatus, EmailAttempt, EmailKind, Invoice

logger = logging.getLogger("invoices")
PRIORITY, REGULAR = "priority", "regular"
QUEUES = (PRIORITY, REGULAR)
INVOICE_PRIORITY = 5
MESSAGE_VERSION = 1
# The seed's queue attributes (docs/invoices.md explains each).
QUEUE_ATTRIBUTES = {
    "MessageRetentionPeriod": "345600",
    "MaximumMessageSize": "262144",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
}
DLQ_RETENTION = "1209600"  # 14 days, the SQS maximum: time for a person to look


def queue_for_priority(priority: object) -> str:
    """1-3 → priority (verification, password reset, account); 4-10 → regular (invoices: 5)."""
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 10:
        raise InvalidPriorityError(priority)
    return PRIORITY if priority <= 3 else REGULAR


def celery_queue(queue: str) -> str:
    return f"invoices_{queue}"


def queue_name(queue: str) -> str:
    return settings.SQS_PRIORITY_QUEUE_NAME if queue == PRIORITY else settings.SQS_REGULAR_QUEUE_NAME


def queue_url(queue: str) -> str:
    """SQS_*_QUEUE_URL, or the URL of the queue named SQS_*_QUEUE_NAME."""
    url = settings.SQS_PRIORITY_QUEUE_URL if queue == PRIORITY else settings.SQS_REGULAR_QUEUE_URL
    if url:
        return url
    found = _lookup_url(queue_name(queue), settings.AWS_ENDPOINT_URL)
    if not found:
        raise QueueError(
            f"no SQS queue for {queue!r}: set SQS_{queue.upper()}_QUEUE_URL or run "
            "`manage.py setup_invoice_queues`",
            transient=False,
        )
    return found


@functools.lru_cache(maxsize=16)
def _lookup_url(name: str, endpoint: str | None) -> str | None:
    return sqs.queue_url_get(name=name)


_attrs_cache: dict[str, tuple[float, int, int]] = {}


def _queue_limits(queue: str) -> tuple[int, int]:
    """(redrive count, visibility timeout) from the queue's own attributes, cached a minute."""
    url = queue_url(queue)
    cached = _attrs_cache.get(url)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1], cached[2]
    count, visibility = settings.SQS_MAX_RECEIVE_COUNT, settings.SQS_VISIBILITY_TIMEOUT
    try:
        attrs = sqs.queue_attributes(queue_url=url)
        visibility = int(attrs.get("VisibilityTimeout", visibility))
        if attrs.get("RedrivePolicy"):
            count = int(json.loads(attrs["RedrivePolicy"])["maxReceiveCount"])
    except (QueueError, ValueError, KeyError):
        pass
    _attrs_cache[url] = (time.monotonic(), count, visibility)
    return count, visibility


def max_receive_count(queue: str) -> int:
    """The queue's redrive count, so the worker knows which delivery is the last before SQS
    moves the message to the dead-letter queue."""
    return _queue_limits(queue)[0]


def visibility_timeout(queue: str) -> int:
    """How long a received message stays hidden: the poll's backpressure and the send job's
    visibility extension are measured against it."""
    return _queue_limits(queue)[1]


def send_email_via_queue(
    *,
    to: str,
    priority: int,
    kind: str = EmailKind.NOTIFICATION,
    invoice: Invoice | None = None,
    subject: str = "",
    text: str = "",
    html: str = "",
) -> EmailAttempt:
    """The one entry point: record the attempt, then (after commit) put its id on the queue the
    priority picks. Refuses a bad priority or a suppressed address before anything is stored."""
    attempt = _attempt_record(
        to=to,
        priority=priority,
        kind=kind,
        invoice=invoice,
        subject=subject,
        text=text,
        html=html,
        provider=invoice_settings_get().queue_provider,
    )
    # Never a message for a row that might roll back: the worker would find nothing.
    transaction.on_commit(lambda: attempt_publish(attempt=attempt))
    return attempt


def _attempt_record(
    *,
    to: str,
    priority: int,
    kind: str,
    invoice: Invoice | None,
    subject: str,
    text: str,
    html: str,
    provider: str,
) -> EmailAttempt:
    queue = queue_for_priority(priority)
    if kind not in EmailKind.values:
        raise ValueError(f"unknown e-mail kind {kind!r}; one of {', '.join(EmailKind.values)}")
    if kind == EmailKind.INVOICE and invoice is None:
        raise ValueError("an invoice e-mail needs the invoice")
    if kind != EmailKind.INVOICE and not (subject and (text or html)):
        raise ValueError("an e-mail needs a subject and a text or HTML body")
    if kind == EmailKind.INVOICE and invoice is not None and not invoice.lines.exists():
        raise ValueError(f"invoice {invoice.number} has no lines; add some before e-mailing it")
    ensure_not_suppressed([to])
    return EmailAttempt.objects.create(
        invoice=invoice,
        kind=kind,
        recipient=to,
        subject=subject,
        body_text=text,
        body_html=html,
        priority=priority,
        queue=queue,
        provider=provider,
    )


def invoice_email_queue(*, invoice: Invoice, priority: int = INVOICE_PRIORITY) -> EmailAttempt:
    """What the admin's Email button does."""
    return send_email_via_queue(
        to=invoice.customer_email, priority=priority, kind=EmailKind.INVOICE, invoice=invoice
    )


def invoices_email_queue(
    *, invoices: Iterable[Invoice], priority: int = INVOICE_PRIORITY
) -> list[EmailAttempt | ValueError]:
    """What "Email selected invoices" does: an attempt per invoice, published after commit in
    SQS batches of ten — one SendMessageBatch where one invoice at a time makes ten calls. An
    invoice that cannot be e-mailed (no lines, suppressed address) gets its error in its place
    and the others go on; an attempt SQS refuses is marked failed, as attempt_publish marks it."""
    results: list[EmailAttempt | ValueError] = []
    provider = invoice_settings_get().queue_provider
    for invoice in invoices:
        try:
            attempt = _attempt_record(
                to=invoice.customer_email,
                priority=priority,
                kind=EmailKind.INVOICE,
                invoice=invoice,
                subject="",
                text="",
                html="",
                provider=provider,
            )
        except ValueError as exc:  # SuppressedAddressError and InvalidPriorityError are ValueErrors
            results.append(exc)
        else:
            results.append(attempt)
    attempts = [r for r in results if isinstance(r, EmailAttempt)]
    transaction.on_commit(lambda: attempts_publish(attempts=attempts))
    return results


def message_body(attempt: EmailAttempt) -> str:
    return json.dumps({"v": MESSAGE_VERSION, "attempt_id": attempt.pk, "kind": attempt.kind})


def attempt_publish(*, attempt: EmailAttempt) -> EmailAttempt:
    """Put the attempt on its queue; a refusal marks the attempt failed and is re-raised, so
    the person who pressed the button sees it."""
    try:
        if attempt.provider == "celery":
            from invoices.tasks import email_attempt_send_task

            job = email_attempt_send_task.apply_async(
                kwargs={"attempt_id": attempt.pk}, queue=celery_queue(attempt.queue)
            )
            message_id = job.id
        else:
            message_id = sqs.message_send(queue_url=queue_url(attempt.queue), body=message_body(attempt))
    except Exception as exc:
        _publish_failed(attempt, str(exc))
        raise
    attempt.queue_message_id, attempt.published_at = message_id, timezone.now()
    EmailAttempt.objects.filter(pk=attempt.pk).update(
        queue_message_id=message_id, published_at=attempt.published_at
    )
    return attempt


def attempts_publish(*, attempts: list[EmailAttempt], retry_later: bool = False) -> None:
    """Publish many without raising: SQS attempts in batches of ten per queue, the others one
    by one; each attempt (row and object) says whether it was queued. `retry_later` (the relay):
    a queue that could not be reached leaves its attempts unpublished instead of failing them."""
    batches: dict[str, list[EmailAttempt]] = {}
    for attempt in attempts:
        if attempt.provider == "sqs":
            batches.setdefault(attempt.queue, []).append(attempt)
            continue
        try:
            attempt_publish(attempt=attempt)
        except Exception:  # recorded on the attempt by attempt_publish
            logger.warning("invoice e-mail attempt=%s could not be queued", attempt.pk)
    for queue, group in batches.items():
        for start in range(0, len(group), 10):
            by_key = {str(a.pk): a for a in group[start : start + 10]}
            try:
                bodies = {key: message_body(a) for key, a in by_key.items()}
                sent, refused = sqs.messages_send(queue_url=queue_url(queue), bodies=bodies)
            except QueueError as exc:
                if retry_later and exc.transient:
                    logger.warning("invoice relay: %s queue unreachable, trying later", queue)
                    continue
                sent, refused = {}, dict.fromkeys(by_key, str(exc))
            for key, error in refused.items():
                _publish_failed(by_key[key], error)
            now = timezone.now()
            for key, message_id in sent.items():
                by_key[key].queue_message_id, by_key[key].published_at = message_id, now
            EmailAttempt.objects.bulk_update(
                [by_key[key] for key in sent], ["queue_message_id", "published_at"]
            )


def _publish_failed(attempt: EmailAttempt, error: str) -> None:
    attempt.status, attempt.error = AttemptStatus.FAILED, f"could not queue: {error}"[:2000]
    EmailAttempt.objects.filter(pk=attempt.pk).update(status=attempt.status, error=attempt.error)


def queues_setup(
    *, visibility_timeout: int | None = None, max_receive_count: int | None = None
) -> dict[str, dict[str, str]]:
    """Create both queues and their dead-letter queues, idempotently."""
    visibility = str(visibility_timeout or settings.SQS_VISIBILITY_TIMEOUT)
    receives = max_receive_count or settings.SQS_MAX_RECEIVE_COUNT
    out: dict[str, dict[str, str]] = {}
    for queue in QUEUES:
        name = queue_name(queue)
        dlq_url = sqs.queue_ensure(name=f"{name}-dlq", attributes={"MessageRetentionPeriod": DLQ_RETENTION})
        dlq_arn = sqs.queue_attributes(queue_url=dlq_url)["QueueArn"]
        attributes = {
            **QUEUE_ATTRIBUTES,
            "VisibilityTimeout": visibility,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(receives)}),
        }
        url = sqs.queue_ensure(name=name, attributes=attributes)
        out[queue] = {"name": name, "url": url, "dlq_url": dlq_url}
    _lookup_url.cache_clear()
    _attrs_cache.clear()
    return out

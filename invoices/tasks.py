"""Thin tasks: unpack ids, call a service."""

from __future__ import annotations

from django.conf import settings

from invoices.consumer import invoice_queues_poll, queue_message_handle, retry_delay
from invoices.exceptions import TransientSendError
from invoices.relay import attempts_relay
from invoices.sending import email_attempt_send
from jobs import Snooze, current_job, job


@job(queue="sqs_polling", single_flight=True, unique_for=60, unique_until_done=True, poll=True)
def invoice_queues_poll_task() -> dict[str, int]:
    """Beat starts it every few seconds (a duplicate while one waits or runs). While messages
    are left — backpressure held regular mail back, or the budget ran out — it snoozes briefly
    and polls again, freeing its worker slot in between."""
    counts = invoice_queues_poll()
    if counts.pop("more"):
        raise Snooze(settings.INVOICES_POLL_SNOOZE, reason="messages left in SQS")
    return counts


# Routed per message to invoices_priority or invoices_regular by the poll (apply_async(queue=)).
@job(queue="invoices_regular", unique_for=3600, unique_on=("message_id",), unique_until_done=True)
def invoice_queue_message_handle_task(
    *, queue: str, attempt_id: int, message_id: str, receive_count: int, received_at: float | None = None
) -> str:
    """One SQS message, one job (unique per SQS message id). Retries are SQS's (redelivery,
    then the DLQ), not this job's."""
    return queue_message_handle(
        queue=queue,
        attempt_id=attempt_id,
        message_id=message_id,
        receive_count=receive_count,
        received_at=received_at,
    )


@job(queue="invoices_regular", max_attempts=5, backoff=(10, 600), retry_on=(TransientSendError,))
def email_attempt_send_task(attempt_id: int) -> str:
    """QUEUE_PROVIDER=celery: the attempt travels on invoices_priority / invoices_regular, and
    retries are this job's own."""
    ctx = current_job()
    try:
        return email_attempt_send(attempt_id=attempt_id, final=ctx.is_final if ctx else False)
    except TransientSendError as exc:
        # The wait is the settings' retry delay, doubling (the jobs layer honours retry_after).
        exc.retry_after = retry_delay(tries=ctx.attempt if ctx else 1)  # type: ignore[attr-defined]
        raise


@job(queue="default", single_flight=True, unique_for=60, unique_until_done=True)
def invoice_attempts_relay_task() -> dict[str, int]:
    """Beat runs it every INVOICES_RELAY_EVERY seconds: attempts committed but never handed to
    their queue (the process died before SendMessage) are published."""
    return attempts_relay()

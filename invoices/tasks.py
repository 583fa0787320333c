"""Thin tasks: unpack ids, call a service."""

from __future__ import annotations

from invoices.consumer import invoice_queues_poll, queue_message_handle
from invoices.exceptions import TransientSendError
from invoices.sending import email_attempt_send
from jobs import job


@job(queue="sqs_polling", single_flight=True)
def invoice_queues_poll_task() -> dict[str, int]:
    """Beat runs this every few seconds; single-flight, so two polls never race."""
    return invoice_queues_poll()


@job(queue="emails", sensitive=("receipt_handle",))
def invoice_queue_message_handle_task(
    *, queue: str, attempt_id: int, receipt_handle: str, receive_count: int
) -> str:
    """One SQS message. Retries are SQS's (redelivery, then the DLQ), not this job's."""
    return queue_message_handle(
        queue=queue, attempt_id=attempt_id, receipt_handle=receipt_handle, receive_count=receive_count
    )


@job(queue="invoices_regular", max_attempts=5, backoff=(10, 600), retry_on=(TransientSendError,), bind=True)
def email_attempt_send_task(self, attempt_id: int) -> str:
    """QUEUE_PROVIDER=celery: the attempt travels on invoices_priority / invoices_regular, and
    retries are this job's own."""
    final = self.request.retries + 1 >= self.job_options.max_attempts
    return email_attempt_send(attempt_id=attempt_id, final=final)

"""A hostile body on the invoice queue (100k nested JSON arrays: the decoder's RecursionError) is
one bad message — recorded, counted, deleted — and the messages around it are still sent."""

from __future__ import annotations

import pytest
from django.core import mail

from invoices import sqs
from invoices.consumer import invoice_queues_poll
from invoices.models import AttemptStatus, EmailKind, RejectedMessage
from invoices.queues import send_email_via_queue

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = "[" * 100_000 + "]" * 100_000  # 200 kB: under SQS's 256 KiB limit


def test_a_deeply_nested_body_is_rejected_and_the_batch_goes_on(queues, eager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    first = send_email_via_queue(
        to="first@example.org", priority=5, kind=EmailKind.NOTIFICATION, subject="first", text="one"
    )
    sqs.message_send(queue_url=queues.regular, body=HOSTILE)
    last = send_email_via_queue(
        to="last@example.org", priority=5, kind=EmailKind.NOTIFICATION, subject="last", text="two"
    )

    counts = invoice_queues_poll()

    assert (counts["rejected"], counts["regular"]) == (1, 2)
    assert sorted(m.subject for m in mail.outbox) == ["first", "last"]
    rejected = RejectedMessage.objects.get()
    assert rejected.reason == "JSON nested too deeply" and rejected.body == HOSTILE[:100_000]
    for attempt in (first, last):
        attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.SENT
    assert queues.depth(queues.regular) == 0  # the hostile one is not retried forever

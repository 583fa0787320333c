"""E-mailing many invoices at once: SQS batches of ten, each invoice's own outcome."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from emails.suppression import SuppressedAddressError, suppression_add
from invoices import sqs
from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import invoices_email_queue
from tests.invoices.factories import InvoiceFactory, invoice_with_lines

pytestmark = pytest.mark.django_db(transaction=True)  # publishing happens on commit


@pytest.fixture
def sqs_calls(queues) -> Iterator[Counter[str]]:
    """The SQS API calls made, by operation name, as botocore sends them."""
    calls: Counter[str] = Counter()

    def count(model, **_kwargs) -> None:
        calls[model.name] += 1

    client = sqs.client()
    client.meta.events.register("before-call.sqs", count)
    yield calls
    client.meta.events.unregister("before-call.sqs", count)


def received(url: str) -> list[sqs.SqsMessage]:
    out: list[sqs.SqsMessage] = []
    while batch := sqs.messages_receive(queue_url=url, max_messages=10):
        out += batch
    return out


def test_many_invoices_go_in_batches_of_ten_and_bad_ones_get_their_own_error(queues, sqs_calls):
    invoices = [invoice_with_lines() for _ in range(21)]
    no_lines = InvoiceFactory()
    suppressed = invoice_with_lines()
    suppression_add(address=suppressed.customer_email, reason="bounce")
    invoices[5:5] = [no_lines]
    invoices.append(suppressed)
    sqs_calls.clear()

    results = invoices_email_queue(invoices=invoices)

    assert len(results) == 23
    assert isinstance(results[5], ValueError) and "has no lines" in str(results[5])
    assert isinstance(results[-1], SuppressedAddressError)
    attempts = [r for r in results if isinstance(r, EmailAttempt)]
    assert len(attempts) == 21
    assert sqs_calls == {"SendMessageBatch": 3}  # 10 + 10 + 1, not 21 SendMessage calls
    messages = received(queues.regular)
    assert sorted(json.loads(m.body)["attempt_id"] for m in messages) == sorted(a.pk for a in attempts)
    stored = dict(EmailAttempt.objects.values_list("pk", "queue_message_id"))
    assert {stored[a.pk] for a in attempts} == {m.message_id for m in messages}
    assert all(a.status == AttemptStatus.QUEUED for a in EmailAttempt.objects.all())


def test_a_batch_sqs_refuses_marks_its_attempts_failed_and_raises_nothing(queues, settings):
    invoices = [invoice_with_lines() for _ in range(3)]
    sqs.client().delete_queue(QueueUrl=queues.regular)  # gone under us: AWS answers QueueDoesNotExist

    results = invoices_email_queue(invoices=invoices)

    rows = EmailAttempt.objects.filter(pk__in=[r.pk for r in results if isinstance(r, EmailAttempt)])
    assert rows.count() == 3
    for row, result in zip(rows.order_by("pk"), results, strict=True):
        assert row.status == AttemptStatus.FAILED and "could not queue" in row.error
        assert "send_message_batch" in row.error and "NonExistentQueue" in row.error
        assert isinstance(result, EmailAttempt) and result.status == AttemptStatus.FAILED
        assert invoices[0].customer_email not in row.error

"""Queue routing, queue creation, the entry point's refusals, and queue health."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from emails.suppression import SuppressedAddressError, suppression_add
from invoices import sqs
from invoices.exceptions import InvalidPriorityError, QueueError
from invoices.health import invoice_queues_health
from invoices.models import AttemptStatus, EmailAttempt, InvoiceLine
from invoices.queues import (
    invoice_email_queue,
    queue_for_priority,
    send_email_via_queue,
)
from invoices.sending import email_attempt_send
from jobs.observe.health import run_checks
from tests.invoices.factories import InvoiceFactory, InvoiceLineFactory, invoice_with_lines

tx = pytest.mark.django_db(transaction=True)  # on_commit publishing needs real commits


@pytest.mark.parametrize(
    "priority,queue", [(1, "priority"), (3, "priority"), (4, "regular"), (5, "regular"), (10, "regular")]
)
def test_priority_picks_the_queue(priority, queue):
    assert queue_for_priority(priority) == queue


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [0, 11, -1, "5", 5.0, None, True])
def test_any_other_priority_is_refused_and_nothing_is_stored(queues, bad):
    with pytest.raises(InvalidPriorityError, match="integer from 1 to 10"):
        send_email_via_queue(to="a@example.org", priority=bad, subject="s", text="t")
    assert not EmailAttempt.objects.exists()
    assert queues.depth(queues.priority) == queues.depth(queues.regular) == 0


@pytest.mark.django_db
def test_suppressed_address_is_refused_with_a_clear_error(queues):
    invoice = invoice_with_lines(customer_email="bounced@example.org")
    suppression_add(address="bounced@example.org", reason="bounce")
    with pytest.raises(SuppressedAddressError, match="suppressed"):
        invoice_email_queue(invoice=invoice)
    assert not EmailAttempt.objects.exists() and queues.depth(queues.regular) == 0


@pytest.mark.django_db
def test_invoice_without_lines_is_refused(queues):
    with pytest.raises(ValueError, match="no lines"):
        invoice_email_queue(invoice=InvoiceFactory())


@tx
def test_setup_invoice_queues_is_idempotent_with_the_seed_attributes(aws, settings):
    settings.SQS_PRIORITY_QUEUE_NAME, settings.SQS_REGULAR_QUEUE_NAME = "setup-prio", "setup-reg"
    first, second = StringIO(), StringIO()
    call_command("setup_invoice_queues", stdout=first)
    call_command("setup_invoice_queues", stdout=second)
    assert first.getvalue() == second.getvalue()
    assert "SQS_PRIORITY_QUEUE_URL=" in first.getvalue()
    for name in ("setup-prio", "setup-reg"):
        attrs = sqs.queue_attributes(queue_url=sqs.queue_url_get(name=name))
        assert attrs["VisibilityTimeout"] == "300"
        assert attrs["MessageRetentionPeriod"] == "345600"
        assert attrs["MaximumMessageSize"] == "262144"
        assert attrs["DelaySeconds"] == "0"
        assert attrs["ReceiveMessageWaitTimeSeconds"] == "0"
        policy = json.loads(attrs["RedrivePolicy"])
        assert int(policy["maxReceiveCount"]) == 5
        dlq = sqs.queue_attributes(queue_url=sqs.queue_url_get(name=f"{name}-dlq"))
        assert policy["deadLetterTargetArn"] == dlq["QueueArn"]


@tx
def test_queue_url_is_looked_up_by_name_when_unset(aws, settings):
    call_command("setup_invoice_queues", stdout=StringIO())  # the default names
    settings.SQS_PRIORITY_QUEUE_URL = settings.SQS_REGULAR_QUEUE_URL = ""
    attempt = send_email_via_queue(
        to="a@example.org", priority=2, kind="verification", subject="Verify", text="code"
    )
    assert attempt.queue == "priority" and attempt.queue_message_id
    url = sqs.queue_url_get(name="priority-emails-queue")
    assert [json.loads(m.body)["attempt_id"] for m in sqs.messages_receive(queue_url=url)] == [attempt.pk]


@tx
def test_a_huge_invoice_still_makes_a_tiny_message(queues, settings):
    # given an invoice whose PDF is far bigger than SQS's 256 KiB limit
    invoice = InvoiceFactory(notes="x" * 1000)
    InvoiceLine.objects.bulk_create(
        InvoiceLineFactory.build(
            invoice=invoice, position=i, description="A long line " * 6, unit_price=Decimal("1.10")
        )
        for i in range(3000)
    )
    invoice_email_queue(invoice=invoice)
    body = sqs.messages_receive(queue_url=queues.regular)[0].body
    # then the message names the attempt only; the worker renders the PDF from the invoice
    assert len(body) < 100 and json.loads(body)["kind"] == "invoice"
    assert invoice.customer_email not in body


@tx
def test_a_queue_that_cannot_be_reached_fails_the_attempt_visibly(aws, settings):
    settings.SQS_REGULAR_QUEUE_URL = "http://127.0.0.1:9/123456789012/nowhere"
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    invoice = invoice_with_lines()
    with pytest.raises(QueueError, match="send_message"):
        invoice_email_queue(invoice=invoice)
    attempt = EmailAttempt.objects.get(invoice=invoice)
    assert attempt.status == AttemptStatus.FAILED and "could not queue" in attempt.error


@tx
def test_health_reports_depth_in_flight_age_and_warns_past_the_limit(queues, settings, client):
    settings.INVOICES_QUEUE_WARN_DEPTH = 3
    for i in range(4):
        send_email_via_queue(to=f"u{i}@example.org", priority=6, subject="s", text="t")
    send_email_via_queue(to="p@example.org", priority=1, kind="password_reset", subject="s", text="t")
    sqs.messages_receive(queue_url=queues.regular, max_messages=1)  # one now in flight
    report = invoice_queues_health()
    assert report["ok"] is True
    assert report["regular"]["available"] == 3 and report["regular"]["in_flight"] == 1
    assert report["priority"]["available"] == 1 and report["priority"]["dead_letters"] == 0
    assert report["regular"]["oldest_age_s"] >= 0
    assert report["warnings"] == []
    send_email_via_queue(to="more@example.org", priority=6, subject="s", text="t")
    report = invoice_queues_health()
    assert report["warnings"] == ["regular queue holds 4 messages (more than 3)"]

    out = StringIO()
    call_command("queue_health", stdout=out)
    assert "regular   available=4 in_flight=1" in out.getvalue()
    assert "WARNING: regular queue holds 4 messages" in out.getvalue()
    section = run_checks(["invoice_queues"])[1]["checks"]["invoice_queues"]
    assert section["ok"] is True and section["regular"]["available"] == 4


@tx
def test_health_fails_when_sqs_is_unreachable(aws, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.SQS_PRIORITY_QUEUE_URL = "http://127.0.0.1:9/1/p"
    settings.SQS_REGULAR_QUEUE_URL = "http://127.0.0.1:9/1/r"
    report = invoice_queues_health()
    assert report["ok"] is False and report["regular"]["reachable"] is False
    with pytest.raises(SystemExit) as exc:
        call_command("queue_health", stdout=StringIO())
    assert exc.value.code == 1


@tx
def test_a_send_claimed_by_another_worker_is_not_sent_again(queues, smtp, settings):
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    # given another worker claimed it a moment ago
    EmailAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.SENDING, claimed_at=timezone.now())
    assert email_attempt_send(attempt_id=attempt.pk) == "in_progress"
    assert smtp.received == []
    # a claim left by a worker that died long ago is taken over
    stale = timezone.now() - timezone.timedelta(seconds=settings.INVOICES_SENDING_STALE_AFTER + 1)
    EmailAttempt.objects.filter(pk=attempt.pk).update(claimed_at=stale)
    assert email_attempt_send(attempt_id=attempt.pk) == "sent"
    assert email_attempt_send(attempt_id=attempt.pk) == "done_before"
    assert len(smtp.received) == 1

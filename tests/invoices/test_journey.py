"""The whole journey with real parts: admin Email button → SQS (moto server) → the poll job,
then the send job (run in this process by jobs.testing's drain(): the real claim and outcome
path) → SMTP (aiosmtpd) → the received e-mail, its PDF, its link."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoices.models import AttemptStatus, EmailAttempt, InvoiceStatus, PaymentLink
from invoices.payment import token_hash
from invoices.tasks import email_attempt_send_task, invoice_queues_poll_task
from jobs.models import Job, JobState
from jobs.testing import assert_enqueued, drain, manual
from tests.invoices.factories import InvoiceFactory, InvoiceLineFactory, invoice_with_lines

pytestmark = pytest.mark.django_db


def parts(message) -> tuple[str, str, bytes]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    pdfs = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1
    return text, html, pdfs[0].get_content()


def test_email_button_to_inbox_with_pdf_and_working_payment_link(
    admin_client, queues, smtp, caplog, settings, django_capture_on_commit_callbacks
):
    settings.FRONTEND_URL = "https://pay.example.com"
    # given an invoice of 2 x 1,000.00 + 3 x 12.50 at 23 % tax = 2,506.13 EUR
    invoice = InvoiceFactory(number="INV-2025-0042", customer_email="ada@example.org")
    InvoiceLineFactory(
        invoice=invoice, description="Design work", quantity=Decimal("2"), unit_price=Decimal("1000.00")
    )
    InvoiceLineFactory(
        invoice=invoice, description="Hosting", quantity=Decimal("3"), unit_price=Decimal("12.50")
    )
    assert invoice.total == Decimal("2506.13")

    # when someone presses Email on the invoice page
    page = admin_client.get(f"/admin/invoices/invoice/{invoice.pk}/change/")
    assert b"/email/" in page.content and b">Email</button>" in page.content
    with django_capture_on_commit_callbacks(execute=True):  # the SQS send waits for the commit
        resp = admin_client.post(f"/admin/invoices/invoice/{invoice.pk}/email/", follow=True)
    assert b"queued for e-mail" in resp.content
    # then a small message waits on the regular queue (invoices are priority 5)
    assert queues.depth(queues.regular) == 1 and queues.depth(queues.priority) == 0

    # when beat's poll runs (and the send job it hands the message to)
    with manual():
        invoice_queues_poll_task.enqueue()
        assert drain() == {"succeeded": 2}
    assert smtp.received, "no e-mail at the SMTP server"

    # then the customer has one e-mail with text, HTML and the PDF
    message = smtp.received[0]
    assert message["To"] == "ada@example.org"
    assert "INV-2025-0042" in message["Subject"]
    text, html, pdf = parts(message)
    assert "2,506.13 EUR" in text and "INV-2025-0042" in html
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "INV-2025-0042" in pdf_text and "2,506.13 EUR" in pdf_text
    assert "2025-03-31" in pdf_text and "Design work" in pdf_text

    # and the send is recorded before the SQS message is deleted
    attempt = EmailAttempt.objects.get(invoice=invoice)
    assert queues.depth(queues.regular) == 0  # message deleted
    assert attempt.status == AttemptStatus.SENT and attempt.provider_message_id
    assert message["Message-ID"] == attempt.provider_message_id
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT

    # and the payment link (FRONTEND_URL/pay/<token>, 256 random bits) opens the invoice
    url = re.search(r"https://pay\.example\.com/pay/(\S+)", text)
    assert url and url.group(0) in html
    token = url.group(1)
    assert len(token) >= 43
    page = admin_client.get(f"/pay/{token}")
    assert page.status_code == 200 and b"INV-2025-0042" in page.content
    assert b"2,506.13 EUR" in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    assert admin_client.get(f"/pay/{token[:-2]}xx").status_code == 404

    # and the token itself is stored nowhere: only its hash, never in job args, results or logs
    assert PaymentLink.objects.get(attempt=attempt).token_hash == token_hash(token)
    jobs = list(Job.objects.values_list("args", "kwargs", "result", "last_error"))
    assert jobs and token not in repr(jobs)
    assert token not in caplog.text
    handle = Job.objects.get(task="invoices.tasks.invoice_queue_message_handle_task")
    assert "receipt_handle" not in handle.kwargs  # read from the attempt row, the newest one
    assert handle.queue == "invoices_regular"
    assert handle.state == JobState.SUCCEEDED and handle.result == "sent"


def test_admin_action_emails_several_and_reports_each(
    admin_client, queues, smtp, django_capture_on_commit_callbacks
):
    from emails.suppression import suppression_add

    good = [invoice_with_lines() for _ in range(3)]
    blocked = invoice_with_lines()
    suppression_add(address=blocked.customer_email, reason="complaint")
    ids = [i.pk for i in [*good, blocked]]
    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_client.post(
            "/admin/invoices/invoice/", {"action": "email_invoices", "_selected_action": ids}, follow=True
        )
    body = resp.content.decode()
    assert "3 invoice(s) queued for e-mail: " in body and all(i.number in body for i in good)
    assert f"Invoice {blocked.number} not sent" in body and "suppressed" in body
    assert queues.depth(queues.regular) == 3  # nothing queued for the suppressed address
    with manual():
        invoice_queues_poll_task.enqueue()
        assert drain() == {"succeeded": 4}  # the poll and three sends
    assert len(smtp.received) == 3
    assert sorted(m["To"] for m in smtp.received) == sorted(i.customer_email for i in good)
    assert not EmailAttempt.objects.filter(invoice=blocked).exists()


def test_admin_action_skips_an_invoice_already_sent(admin_client, queues, django_capture_on_commit_callbacks):
    sent, fresh = invoice_with_lines(), invoice_with_lines()
    EmailAttempt.objects.create(
        invoice=sent, kind="invoice", recipient=sent.customer_email, priority=5, status=AttemptStatus.SENT
    )
    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_client.post(
            "/admin/invoices/invoice/",
            {"action": "email_invoices", "_selected_action": [sent.pk, fresh.pk]},
            follow=True,
        )
    body = resp.content.decode()
    assert f"Invoice {sent.number} was already sent: not sent again" in body
    assert f"1 invoice(s) queued for e-mail: {fresh.number}." in body
    assert queues.depth(queues.regular) == 1
    assert EmailAttempt.objects.filter(invoice=sent).count() == 1


def test_email_url_refuses_get(admin_client, queues):
    invoice = invoice_with_lines()
    assert admin_client.get(f"/admin/invoices/invoice/{invoice.pk}/email/").status_code == 405
    assert queues.depth(queues.regular) == 0


def test_celery_provider_uses_the_broker_queues(settings, smtp, django_capture_on_commit_callbacks):
    # given QUEUE_PROVIDER=celery (a deployment without AWS)
    settings.QUEUE_PROVIDER = "celery"
    from invoices.queues import invoice_email_queue, send_email_via_queue

    with manual():
        with django_capture_on_commit_callbacks(execute=True):  # each send job is queued on commit
            attempt = invoice_email_queue(invoice=invoice_with_lines())
            reset = send_email_via_queue(
                to="who@example.org",
                priority=1,
                kind="password_reset",
                subject="Reset your password",
                text="click",
            )
        assert_enqueued(email_attempt_send_task, attempt_id=attempt.pk)
        assert_enqueued(email_attempt_send_task, attempt_id=reset.pk)
        # each one runs from its own queue
        assert drain("invoices_priority") == {"succeeded": 1}
        assert [m["To"] for m in smtp.received] == ["who@example.org"]
        assert drain("invoices_regular") == {"succeeded": 1}
    assert len(smtp.received) == 2
    jobs = {j.kwargs["attempt_id"]: j for j in Job.objects.filter(task=email_attempt_send_task.name)}
    assert jobs[attempt.pk].queue == "invoices_regular"
    assert jobs[reset.pk].queue == "invoices_priority"
    assert set(EmailAttempt.objects.values_list("status", flat=True)) == {AttemptStatus.SENT}

"""The email handler against a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import base64
import socket

import pytest

from emails.suppression import SuppressedAddressError, suppression_add
from queue_handlers.base import RetriesExhausted, RetryJob
from queue_handlers.models import HandlerJob
from tests.queue_handlers.conftest import run_now

pytestmark = pytest.mark.django_db


def test_email_is_sent_with_everything_the_payload_names(smtp):
    summary = run_now(
        "email",
        {
            "to": "ada@example.com",
            "subject": "Your report",
            "body": "Plain text",
            "html_body": "<p>HTML</p>",
            "cc": ["cc@example.com"],
            "bcc": ["bcc@example.com"],
            "reply_to": ["help@example.com"],
            "attachments": [
                {
                    "filename": "r.txt",
                    "content": base64.b64encode(b"hello").decode(),
                    "mimetype": "text/plain",
                }
            ],
        },
    )
    assert summary == {"job_type": "email", "sent": 1, "recipients": 3}
    [msg] = smtp.messages
    assert sorted(msg["rcpt"]) == ["ada@example.com", "bcc@example.com", "cc@example.com"]
    data = msg["data"]
    assert "Subject: Your report" in data and "Reply-To: help@example.com" in data
    assert "Cc: cc@example.com" in data and "bcc@example.com" not in data.split("\n\n")[0]
    assert "text/html" in data and 'filename="r.txt"' in data
    assert "X-Job-Id:" in data


def test_suppressed_address_is_refused_and_nothing_is_sent(smtp):
    suppression_add(address="Bounced@Example.com", reason="bounce")
    with pytest.raises(SuppressedAddressError, match="1 suppressed address"):
        run_now("email", {"to": ["ok@example.com"], "cc": ["bounced@example.com"], "subject": "Hi"})
    assert smtp.messages == []


def test_suppressed_address_is_refused_at_enqueue_and_nothing_is_queued(smtp):
    from jobs.models import Job
    from queue_handlers.services import enqueue_email

    suppression_add(address="complained@example.com", reason="complaint")
    with pytest.raises(SuppressedAddressError):
        enqueue_email({"to": "ok@example.com", "bcc": "complained@example.com", "subject": "x"})
    assert not Job.objects.exists() and not HandlerJob.objects.exists()


def test_address_suppressed_after_enqueue_is_refused_when_sent(smtp):
    from queue_handlers.services import handler_job_run

    record = HandlerJob.objects.create(job_type="email", payload={"to": "late@example.com", "subject": "x"})
    suppression_add(address="late@example.com", reason="bounce")
    with pytest.raises(SuppressedAddressError):
        handler_job_run(job_type="email", handler_job_id=str(record.pk))
    assert smtp.messages == []


def test_unreachable_mail_server_is_retried_then_gives_up(settings):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    with pytest.raises(RetryJob, match="attempt 1/3: SmtpUnavailable"):
        run_now("email", {"to": "a@example.com", "subject": "Hi"}, attempt=1)
    with pytest.raises(RetriesExhausted, match="gave up after 3 attempt"):
        run_now("email", {"to": "a@example.com", "subject": "Hi"}, attempt=3)


def test_result_is_stored_with_the_payload_not_in_the_history(smtp):
    run_now("email", {"to": "ada@example.com", "subject": "Hi"})
    record = HandlerJob.objects.get()
    assert record.result == {"sent": 1, "recipients": 1} and record.finished_at


def test_ses_throttling_is_retried_not_failed_for_good(settings, httpserver):
    """SES answers a send over its rate with a Throttling error (400, Sender): try again later."""
    from project import aws

    throttled = (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type>'
        "<Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error>"
        "<RequestId>4b6e2f3a-0000-4000-8000-000000000001</RequestId></ErrorResponse>"
    )
    httpserver.expect_request("/", method="POST").respond_with_data(
        throttled, status=400, content_type="text/xml"
    )
    settings.EMAIL_DELIVERY_BACKEND = "invoices.ses.SesEmailBackend"
    settings.AWS_ENDPOINT_URL = httpserver.url_for("/").rstrip("/")
    aws.clients_reset()
    try:
        with pytest.raises(RetryJob, match="attempt 1/3: SmtpUnavailable"):
            run_now("email", {"to": "a@example.com", "subject": "Hi"}, attempt=1)
    finally:
        aws.clients_reset()
    assert httpserver.log, "the send reached SES"

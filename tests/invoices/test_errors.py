"""One error map for SMTP and SES, and an attempt that never stays `sending`."""

from __future__ import annotations

import smtplib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from invoices.exceptions import PermanentSendError, TransientSendError, send_error_for
from invoices.models import AttemptStatus, EmailKind
from invoices.sending import email_attempt_send
from tests.invoices.factories import invoice_with_lines


def _client_error(code: str, status: int, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendRawEmail",
    )


@pytest.mark.parametrize(
    "exc, transient",
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"4.2.0 greylisted, try later")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 <a@example.org> unknown")}), False),
        (smtplib.SMTPDataError(451, b"4.3.0 try again"), True),
        (smtplib.SMTPDataError(554, b"5.7.1 <a@example.org> rejected"), False),
        (smtplib.SMTPSenderRefused(553, b"5.7.1 sender <b@example.com> refused", "b@example.com"), False),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (ConnectionRefusedError(), True),
        (_client_error("Throttling", 400, "Maximum sending rate exceeded."), True),
        (_client_error("ServiceUnavailable", 503), True),
        (_client_error("MessageRejected", 400, "Email address is not verified: a@example.org"), False),
        (EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"), True),
    ],
)
def test_4xx_and_throttling_are_transient_5xx_permanent_and_no_address_is_named(exc, transient):
    error = send_error_for(exc)
    assert isinstance(error, TransientSendError if transient else PermanentSendError)
    assert "@" not in str(error)


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_exception_records_retrying_and_nothing_goes_twice(settings, smtp):
    # given an attempt whose rendering blows up, not with a provider error: FRONTEND_URL (the
    # pay link's base) misconfigured, so building the message raises AttributeError
    from invoices import sending

    invoice = invoice_with_lines()
    row = sending.EmailAttempt.objects.create(
        invoice=invoice, kind=EmailKind.INVOICE, recipient=invoice.customer_email, priority=5, queue="regular"
    )
    frontend, settings.FRONTEND_URL = settings.FRONTEND_URL, None
    # when it is sent
    with pytest.raises(TransientSendError, match="unexpected AttributeError"):
        email_attempt_send(attempt_id=row.pk)
    # then it is recorded as retrying (not left `sending`), and nothing reached SMTP
    row.refresh_from_db()
    assert row.status == AttemptStatus.RETRYING and smtp.received == []
    # and on its last delivery it ends dead-lettered, never `sending`
    with pytest.raises(TransientSendError):
        email_attempt_send(attempt_id=row.pk, final=True)
    row.refresh_from_db()
    assert row.status == AttemptStatus.DEAD_LETTERED
    # once the setting is fixed the next delivery sends it, once
    settings.FRONTEND_URL = frontend
    assert email_attempt_send(attempt_id=row.pk) == "sent"
    assert email_attempt_send(attempt_id=row.pk) == "done_before"
    assert len(smtp.received) == 1

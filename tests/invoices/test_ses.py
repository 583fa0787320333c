"""EMAIL_PROVIDER=ses: the backend over boto3 send_raw_email, against a moto server."""

from __future__ import annotations

import pytest

from invoices import ses
from invoices.consumer import invoice_queues_poll
from invoices.exceptions import TransientSendError
from invoices.models import AttemptStatus
from invoices.queues import invoice_email_queue
from tests.invoices.factories import invoice_with_lines


@pytest.fixture
def ses_backend(queues, settings):
    settings.EMAIL_DELIVERY_BACKEND = "invoices.ses.SesEmailBackend"
    settings.DEFAULT_FROM_EMAIL = "billing@example.com"
    return ses.client()


def ses_outbox() -> list:
    """What the moto server (running in this process) accepted through send_raw_email."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


@pytest.mark.django_db(transaction=True)
def test_invoice_goes_out_through_ses_with_its_message_id(ses_backend, queues, eager):
    ses_backend.verify_email_identity(EmailAddress="billing@example.com")
    invoice = invoice_with_lines()
    attempt = invoice_email_queue(invoice=invoice)
    invoice_queues_poll()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT
    assert attempt.provider_message_id and not attempt.provider_message_id.startswith("<")
    sent = [m for m in ses_outbox() if m.id == attempt.provider_message_id]
    assert len(sent) == 1 and invoice.number in sent[0].raw_data
    assert "application/pdf" in sent[0].raw_data
    assert queues.depth(queues.regular) == 0


@pytest.mark.django_db(transaction=True)
def test_ses_rejection_is_permanent_and_not_retried(ses_backend, queues, eager, settings):
    settings.DEFAULT_FROM_EMAIL = "unverified@nowhere.example"
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    invoice_queues_poll()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED and "MessageRejected" in attempt.error
    assert "@" not in attempt.error  # SES names the unverified identity; the row does not
    assert queues.depth(queues.regular) == 0


def test_ses_unreachable_is_a_transient_error(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(TransientSendError, match="SES send_raw_email failed: EndpointConnectionError"):
        ses.raw_email_send(
            source="billing@example.com", destinations=["a@example.org"], raw=b"Subject: hi\r\n\r\nbody"
        )

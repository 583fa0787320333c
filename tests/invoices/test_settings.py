"""Invoice mail settings changed in the admin: validated, audited, and read by the next poll,
send and enqueue without a restart (moto for SQS, aiosmtpd for SMTP)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from invoices import sqs
from invoices.consumer import invoice_queues_poll
from invoices.models import AttemptStatus, EmailAttempt, InvoiceSettings
from invoices.queues import invoice_email_queue
from jobs.testing import drain, manual
from tests.invoices.factories import invoice_with_lines

pytestmark = pytest.mark.django_db(transaction=True)
PAGE = "/admin/invoices/invoicesettings/"


def save(admin_client, **fields) -> object:
    """Open the page as an operator does (the add form the first time) and submit it."""
    url = admin_client.get(PAGE).url
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in ("queue_provider", "celery_backlog", "retry_base_delay")}
    data.update(fields)
    return admin_client.post(url, data)


def test_the_page_starts_from_the_environment_and_audits_each_change(admin_client, queues, settings):
    settings.INVOICES_CELERY_BACKLOG, settings.INVOICES_RETRY_BASE_DELAY = 100, 30
    # given no saved record, the page opens filled with the environment's values
    url = admin_client.get(PAGE).url
    assert url.endswith("/add/")
    form = admin_client.get(url).context["adminform"].form
    assert (form["queue_provider"].value(), form["celery_backlog"].value()) == ("sqs", 100)
    # when an operator changes the backlog and the retry delay
    assert save(admin_client, celery_backlog=2, retry_base_delay=7).status_code == 302
    save(admin_client, retry_base_delay=9)
    # then the admin log says who changed what from what, and the page shows it
    messages = [e.get_change_message() for e in LogEntry.objects.order_by("action_time")]
    assert "Celery backlog: 100 → 2" in messages[0] and "Retry delay (s): 30 → 7" in messages[0]
    assert "Queue provider" not in messages[0]  # unchanged fields are not named
    assert messages[1] == "Changed: Retry delay (s): 7 → 9."
    page = admin_client.get(f"{PAGE}1/change/").content.decode()
    assert "Retry delay (s): 7 → 9" in page and "admin" in page


def test_a_bad_value_is_refused_with_a_clear_error_and_nothing_changes(admin_client, aws, settings):
    response = save(admin_client, celery_backlog=0)
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()
    # SQS chosen while no queue can be found: the page says why, nothing is saved
    settings.SQS_REGULAR_QUEUE_URL = settings.SQS_PRIORITY_QUEUE_URL = ""
    settings.SQS_REGULAR_QUEUE_NAME = "no-such-queue-here"
    response = save(admin_client, queue_provider="sqs", celery_backlog=5)
    assert "SQS is not ready" in response.content.decode()
    assert not InvoiceSettings.objects.exists()


def test_a_smaller_backlog_holds_the_next_poll_back(admin_client, queues):
    for _ in range(5):
        invoice_email_queue(invoice=invoice_with_lines())
    save(admin_client, celery_backlog=2)
    with manual():  # the send jobs wait in Celery (stored, not run)
        counts = invoice_queues_poll()
    assert counts["regular"] == 2 and counts["more"] == 1  # the environment's 100 took all 5
    assert queues.depth(queues.regular) == 5  # the rest wait in SQS, not in Celery


def test_the_retry_delay_counts_for_the_next_failure(admin_client, queues, smtp, settings):
    settings.INVOICES_RETRY_BASE_DELAY = 600  # the environment: ten minutes
    save(admin_client, retry_base_delay=0)
    smtp.reply = "451 4.3.0 Try again later"
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    with manual():
        invoice_queues_poll()
        drain("invoices_regular")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.RETRYING
    # visible again at once: the admin's 0 s, not the environment's 600 s
    assert len(sqs.messages_receive(queue_url=queues.regular)) == 1


def test_switching_to_celery_routes_new_mail_there_and_drains_what_sqs_holds(
    admin_client, queues, smtp, eager
):
    earlier = invoice_email_queue(invoice=invoice_with_lines())
    assert save(admin_client, queue_provider="celery").status_code == 302
    # the next e-mail travels on Celery (run inline here), not on SQS
    later = invoice_email_queue(invoice=invoice_with_lines())
    assert later.provider == "celery" and queues.depth(queues.regular) == 1
    assert EmailAttempt.objects.get(pk=later.pk).status == AttemptStatus.SENT
    # and the poll still takes what SQS held before the switch
    invoice_queues_poll()
    assert EmailAttempt.objects.get(pk=earlier.pk).status == AttemptStatus.SENT
    assert len(smtp.received) == 2 and queues.depth(queues.regular) == 0

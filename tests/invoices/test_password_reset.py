"""Django's own mail goes through the priority queue (seed 002): a password reset requested on
Django's view is queued on the priority SQS queue (moto), taken off by the consumer and
delivered by SMTP (aiosmtpd); nothing is sent inline by the web request."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, send_mail

from invoices.consumer import invoice_queues_poll
from invoices.mail import mail_mark
from invoices.models import AttemptStatus, EmailAttempt, EmailKind

pytestmark = pytest.mark.django_db(transaction=True)
PROJECT_BACKEND = "invoices.mail.QueuedEmailBackend"  # what project/settings_apps.py sets


@pytest.fixture
def queued_mail(settings, queues, smtp):
    # pytest-django swaps EMAIL_BACKEND for locmem in every test; put back the project's own.
    settings.EMAIL_BACKEND = PROJECT_BACKEND
    return queues


def test_a_password_reset_goes_through_the_priority_queue_and_its_link_works(
    client, queued_mail, smtp, eager
):
    queues = queued_mail
    user = get_user_model().objects.create_user("ada", "ada@example.org", "old-password-1")
    # when someone asks for a reset on Django's view (linked from the admin's login page)
    response = client.post("/admin/password_reset/", {"email": "ada@example.org"})
    assert response.status_code == 302
    # then nothing was sent inline: the message waits on the priority queue, encrypted at rest
    assert smtp.received == []
    assert queues.depth(queues.priority) == 1 and queues.depth(queues.regular) == 0
    attempt = EmailAttempt.objects.get()
    assert (attempt.kind, attempt.queue, attempt.status) == (
        EmailKind.PASSWORD_RESET,
        "priority",
        AttemptStatus.QUEUED,
    )
    assert attempt.sealed_message and "/reset/" not in attempt.sealed_message
    # when the consumer polls, the e-mail goes out once, as Django built it
    invoice_queues_poll()
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail["To"] == "ada@example.org" and "Password reset" in mail["Subject"]
    link = re.search(r"https?://[^/\s]+(/reset/\S+/)", mail.get_body(("plain",)).get_content())
    assert link is not None
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT and attempt.sealed_message == ""  # link not kept
    # and the link in it lets the user choose a new password
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "A-new-pass-2024", "new_password2": "A-new-pass-2024"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("A-new-pass-2024")


def test_an_unknown_address_queues_nothing(client, queued_mail, smtp):
    response = client.post("/admin/password_reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302  # the same answer as for a known address
    assert not EmailAttempt.objects.exists()


def test_django_mail_is_critical_by_default_and_a_marked_message_takes_the_regular_queue(
    queued_mail, smtp, eager
):
    queues = queued_mail
    # given account mail sent with Django's mail API, one unmarked and one marked routine
    send_mail("Verify your address", "Click to verify.", None, ["new@example.org"])
    routine = mail_mark(EmailMessage("Monthly digest", "News.", to=["reader@example.org"]), priority=7)
    routine.send()
    # then the unmarked one waits on the priority queue, the routine one on the regular queue
    assert queues.depth(queues.priority) == 1 and queues.depth(queues.regular) == 1
    assert smtp.received == []
    # and the consumer sends the critical one first
    invoice_queues_poll()
    assert [m["Subject"] for m in smtp.received] == ["Verify your address", "Monthly digest"]


def test_the_attempt_page_never_shows_the_stored_message(client, admin_client, queued_mail):
    get_user_model().objects.create_user("bob", "bob@example.org", "old-password-1")
    client.post("/admin/password_reset/", {"email": "bob@example.org"})
    attempt = EmailAttempt.objects.get()
    page = admin_client.get(f"/admin/invoices/emailattempt/{attempt.pk}/change/").content.decode()
    assert "password_reset" in page and "bob@example.org" in page  # what it is, and to whom
    assert attempt.sealed_message[:40] not in page and "/reset/" not in page  # never the link

"""The SQS consumer against moto: priority first, once-only sends, malformed messages, the DLQ."""

from __future__ import annotations

import json
import time

import pytest
from django.core import mail

from emails.suppression import suppression_add
from invoices import sqs
from invoices.consumer import invoice_queues_poll
from invoices.models import AttemptStatus, EmailAttempt, EmailKind, RejectedMessage
from invoices.queues import invoice_email_queue, message_body, send_email_via_queue
from invoices.tasks import invoice_queue_message_handle_task
from jobs import FINISHED_STATES, Job
from jobs.testing import drain, manual
from tests.helpers import wait_for
from tests.invoices.conftest import make_queues
from tests.invoices.factories import invoice_with_lines

pytestmark = pytest.mark.django_db(transaction=True)
HANDLE = invoice_queue_message_handle_task.name


def reset_mail() -> None:
    mail.outbox = []


def notify(to: str, priority: int, subject: str) -> EmailAttempt:
    kind = EmailKind.PASSWORD_RESET if priority <= 3 else EmailKind.NOTIFICATION
    return send_email_via_queue(to=to, priority=priority, kind=kind, subject=subject, text=f"{subject} body")


def test_priority_queue_is_drained_before_the_regular_one(queues, eager, settings):
    # given a regular queue with 25 messages, and then one password reset
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reset_mail()
    for i in range(25):
        notify(f"user{i}@example.org", 5, f"newsletter {i}")
    notify("urgent@example.org", 1, "reset your password")
    assert queues.depth(queues.regular) == 25 and queues.depth(queues.priority) == 1
    # when the consumer polls
    counts = invoice_queues_poll()
    # then the password reset went out first, and everything was sent and deleted
    assert counts == {"priority": 1, "regular": 25, "rejected": 0, "more": 0}
    assert mail.outbox[0].subject == "reset your password"
    assert len(mail.outbox) == 26
    assert queues.depth(queues.regular) == queues.depth(queues.priority) == 0
    assert EmailAttempt.objects.filter(status=AttemptStatus.SENT).count() == 26


def test_priority_message_arriving_mid_drain_jumps_the_regular_backlog(queues, eager, settings):
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reset_mail()
    for i in range(30):
        notify(f"user{i}@example.org", 7, f"bulk {i}")
    # the first regular batch takes 10; then a verification e-mail arrives
    first = invoice_queues_poll(max_messages=10)
    assert first["regular"] == 10
    notify("new@example.org", 2, "verify your address")
    invoice_queues_poll()
    subjects = [m.subject for m in mail.outbox]
    assert subjects.index("verify your address") == 10  # before the 20 regular still waiting


def test_a_redelivered_message_sends_once(queues, eager, smtp):
    # given an invoice e-mail whose message SQS delivers twice (at-least-once delivery)
    invoice = invoice_with_lines()
    attempt = invoice_email_queue(invoice=invoice)
    sqs.message_send(queue_url=queues.regular, body=message_body(attempt))
    assert queues.depth(queues.regular) == 2
    # when both copies are consumed (in one poll and in a later one)
    invoice_queues_poll(max_messages=1)
    invoice_queues_poll()
    sqs.message_send(queue_url=queues.regular, body=message_body(attempt))  # a late third copy
    invoice_queues_poll()
    # then one e-mail, one sent attempt, and no message left behind
    assert len(smtp.received) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT and attempt.deliveries == 1
    assert queues.depth(queues.regular) == 0


def test_malformed_messages_are_recorded_and_removed_and_the_rest_go_on(queues, eager, settings):
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reset_mail()
    bad = {
        "not json at all": "not JSON",
        "[1, 2]": "not a JSON object",
        json.dumps({"v": 9, "attempt_id": 1, "kind": "invoice"}): "unknown message version 9",
        json.dumps({"v": 1, "attempt_id": "7", "kind": "invoice"}): "attempt_id missing",
        json.dumps({"v": 1, "attempt_id": 99999999, "kind": "invoice"}): "no e-mail attempt",
        json.dumps({"v": 1, "attempt_id": 1, "kind": "spam"}): "unknown kind",
    }
    for body in bad:
        sqs.message_send(queue_url=queues.regular, body=body)
    good = notify("fine@example.org", 5, "still delivered")
    counts = invoice_queues_poll()
    assert counts["rejected"] == len(bad) and counts["regular"] == 1
    assert [m.subject for m in mail.outbox] == ["still delivered"]
    rows = {r.body: r.reason for r in RejectedMessage.objects.all()}
    assert set(rows) == set(bad)  # the raw body is kept for a person
    for body, reason in bad.items():
        assert reason in rows[body]
    assert queues.depth(queues.regular) == 0  # never retried forever
    good.refresh_from_db()
    assert good.status == AttemptStatus.SENT


def test_failing_smtp_is_retried_then_dead_lettered(aws, settings, smtp):
    # given queues with a 1 s visibility timeout and a redrive count of 3, and an SMTP server
    # that answers "451 try again later"
    q = make_queues(settings, visibility=1, receives=3)
    settings.INVOICES_RETRY_BASE_DELAY = 0  # visible again at once (real default: 30 s, doubling)
    smtp.reply = "451 4.3.0 Try again later"
    attempt = invoice_email_queue(invoice=invoice_with_lines())

    # when the consumer keeps polling (the send jobs run here, by drain(): one job per SQS
    # message, a new one for each redelivery once the last has ended)
    def dead_lettered() -> bool:
        invoice_queues_poll()
        drain("invoices_regular")
        return q.depth(q.regular_dlq) == 1

    with manual():
        wait_for(dead_lettered, timeout=30, interval=0.3, message="message in the DLQ")
    # then it was tried exactly the redrive count, nothing was delivered, and the attempt says why
    attempt.refresh_from_db()
    assert smtp.refused == 3 and smtp.received == []
    assert attempt.deliveries == 3
    assert attempt.status == AttemptStatus.DEAD_LETTERED
    assert "gave up after 3 deliveries" in attempt.error and "451" in attempt.error
    assert q.depth(q.regular) == 0
    # and a redrive from the DLQ, once SMTP is back, still sends it (once)
    smtp.reply = None
    msg = sqs.messages_receive(queue_url=q.regular_dlq)[0]
    sqs.message_send(queue_url=q.regular, body=msg.body)
    sqs.message_delete(queue_url=q.regular_dlq, receipt_handle=msg.receipt_handle)
    with manual():
        invoice_queues_poll()
        assert drain("invoices_regular") == {"succeeded": 1}
    assert len(smtp.received) == 1  # the redriven e-mail
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT


def test_smtp_down_then_back_sends_on_a_later_delivery(queues, smtp, settings):
    settings.INVOICES_RETRY_BASE_DELAY = 0
    smtp.reply = "421 4.7.0 busy"
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    with manual():
        invoice_queues_poll(max_messages=1)
        assert drain("invoices_regular") == {"succeeded": 1}  # the job ends; SQS will retry
        assert smtp.refused == 1  # the refused try
        # the handle job has ended (its per-message unique key is free for the redelivery)
        assert not Job.objects.filter(task=HANDLE).exclude(state__in=FINISHED_STATES).exists()
        attempt.refresh_from_db()
        assert attempt.status == AttemptStatus.RETRYING and "421" in attempt.error
        assert queues.depth(queues.regular) == 1  # still there: SQS delivers it again
        smtp.reply = None

        def beat_tick() -> bool:  # polls as beat does, until SQS delivers it again
            invoice_queues_poll()
            drain("invoices_regular")
            return len(smtp.received) == 1

        wait_for(beat_tick, timeout=30, interval=0.5, message="the e-mail")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT and attempt.deliveries == 2
    assert len(smtp.received) == 1 and queues.depth(queues.regular) == 0


def test_a_permanent_smtp_rejection_is_not_retried(queues, eager, smtp):
    smtp.reply = "550 5.1.1 mailbox unavailable"
    attempt = invoice_email_queue(invoice=invoice_with_lines())
    invoice_queues_poll()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED and "550" in attempt.error
    assert smtp.refused == 1 and queues.depth(queues.regular) == 0


def test_an_address_suppressed_after_queueing_is_not_sent(queues, eager, smtp):
    invoice = invoice_with_lines()
    attempt = invoice_email_queue(invoice=invoice)
    suppression_add(address=invoice.customer_email.upper(), reason="bounce")
    invoice_queues_poll()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUPPRESSED and "suppressed" in attempt.error
    assert smtp.received == [] and queues.depth(queues.regular) == 0


def test_a_backlog_longer_than_the_visibility_timeout_sends_once_and_dead_letters_nothing(
    aws, settings, celery_worker, smtp
):
    # A worker: SQS visibility timeouts lapse in real time while the worker sends the backlog.
    # given 150 e-mails on a queue whose visibility timeout (2 s) and redrive count (2) are far
    # shorter than the time the backlog takes to drain, and room for 10 sends waiting in Celery
    q = make_queues(settings, visibility=2, receives=2)
    settings.INVOICES_CELERY_BACKLOG = 10
    for i in range(150):
        notify(f"user{i}@example.org", 5, f"bulk {i}")
    # when the poll job runs (it snoozes while backpressure holds mail in SQS)
    from invoices.tasks import invoice_queues_poll_task

    started = time.monotonic()

    def beat_tick() -> bool:  # as beat does (every second here): a duplicate while one waits
        invoice_queues_poll_task.enqueue()
        return len(smtp.received) >= 150

    wait_for(beat_tick, timeout=120, interval=1, message="all 150 e-mails")
    assert time.monotonic() - started > 2  # the backlog outlasted the visibility timeout
    time.sleep(1)
    # then every e-mail went exactly once, none was dead-lettered, every attempt is sent
    subjects = [m["Subject"] for m in smtp.received]
    assert len(subjects) == len(set(subjects)) == 150
    assert q.depth(q.regular_dlq) == 0
    assert EmailAttempt.objects.exclude(status=AttemptStatus.SENT).count() == 0
    assert set(EmailAttempt.objects.values_list("deliveries", flat=True)) == {1}
    wait_for(lambda: q.depth(q.regular) == 0, timeout=20, message="every message deleted")


def test_backpressure_receives_regular_mail_only_as_fast_as_celery_sends_it(queues, settings):
    # given 30 regular e-mails and 3 priority ones in SQS, room for 5 sends waiting in Celery,
    # and no worker yet: nothing handed off gets sent
    settings.INVOICES_CELERY_BACKLOG = 5
    for i in range(30):
        notify(f"user{i}@example.org", 5, f"bulk {i}")
    for i in range(3):
        notify(f"vip{i}@example.org", 1, f"reset {i}")
    # when the poll runs twice
    first = invoice_queues_poll()
    second = invoice_queues_poll()
    # then all priority mail went to Celery, regular mail only up to the room, the rest stays in
    # SQS (visible, not counting receives), and the poll says there is more
    assert (first["priority"], first["regular"], first["more"]) == (3, 5, 1)
    assert (second["priority"], second["regular"], second["more"]) == (0, 0, 1)
    attrs = sqs.queue_attributes(queue_url=queues.regular)
    assert int(attrs["ApproximateNumberOfMessages"]) == 25
    # and once those sends are done (hand-off cleared), the next poll takes the next five
    EmailAttempt.objects.update(handed_off_at=None)
    assert invoice_queues_poll()["regular"] == 5

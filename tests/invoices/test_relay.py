"""The relay: an attempt committed by a process that died before SendMessage is published late,
sent once, and a duplicate message for it stays harmless (moto for SQS, aiosmtpd for SMTP)."""

from __future__ import annotations

import pytest
from django.db import transaction

from invoices import sqs
from invoices.consumer import invoice_queues_poll
from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import invoice_email_queue, message_body
from invoices.relay import attempts_relay
from tests.invoices.factories import invoice_with_lines

pytestmark = pytest.mark.django_db(transaction=True)


class ProcessDied(BaseException):
    """Stands for the process ending (SIGKILL, OOM) right after the commit: like SystemExit it is
    no Exception, so Django runs no further commit hook, and the SendMessage hook never runs."""


def commit_then_die() -> EmailAttempt:
    holder: list[EmailAttempt] = []
    with pytest.raises(ProcessDied):
        with transaction.atomic():
            transaction.on_commit(lambda: (_ for _ in ()).throw(ProcessDied()))
            holder.append(invoice_email_queue(invoice=invoice_with_lines()))
    return EmailAttempt.objects.get(pk=holder[0].pk)


def test_an_attempt_whose_process_died_before_sendmessage_is_relayed_and_sent_once(queues, eager, smtp):
    # given an invoice e-mail committed by a process that died before SQS's SendMessage
    attempt = commit_then_die()
    assert attempt.status == AttemptStatus.QUEUED and attempt.published_at is None
    assert queues.depth(queues.regular) == 0
    invoice_queues_poll()
    assert smtp.received == []  # nothing would ever bring it to a worker

    # when the relay runs (beat: every INVOICES_RELAY_EVERY s, for rows older than the bound)
    assert attempts_relay(older_than=0) == {"relayed": 1, "failed": 0, "waiting": 0}
    invoice_queues_poll()

    # then the customer gets the e-mail, once; a second relay run finds nothing to do
    assert len(smtp.received) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT and attempt.published_at is not None
    assert attempts_relay(older_than=0)["relayed"] == 0

    # and a duplicate message for the same attempt (the original publish was slow, not dead)
    # is consumed and deleted without a second e-mail
    sqs.message_send(queue_url=queues.regular, body=message_body(attempt))
    invoice_queues_poll()
    assert len(smtp.received) == 1
    assert queues.depth(queues.regular) == 0


def test_the_relay_leaves_fresh_attempts_alone(queues, eager, smtp):
    attempt = commit_then_die()
    # younger than the bound: its own publish may still be under way
    assert attempts_relay(older_than=3600)["relayed"] == 0
    attempt.refresh_from_db()
    assert attempt.published_at is None and queues.depth(queues.regular) == 0


def test_an_unreachable_queue_leaves_the_attempt_for_the_next_relay_run(queues, eager, smtp, settings):
    # given a stranded attempt, and SQS that cannot be reached when the relay first runs
    attempt = commit_then_die()
    good_url = settings.SQS_REGULAR_QUEUE_URL
    settings.SQS_REGULAR_QUEUE_URL = "http://127.0.0.1:9/123456789012/nowhere"
    good_endpoint, settings.AWS_ENDPOINT_URL = settings.AWS_ENDPOINT_URL, "http://127.0.0.1:9"
    assert attempts_relay(older_than=0) == {"relayed": 0, "failed": 0, "waiting": 1}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.QUEUED and attempt.published_at is None  # not failed
    # when SQS answers again, the next run publishes it and it is sent
    settings.SQS_REGULAR_QUEUE_URL, settings.AWS_ENDPOINT_URL = good_url, good_endpoint
    assert attempts_relay(older_than=0)["relayed"] == 1
    invoice_queues_poll()
    assert len(smtp.received) == 1

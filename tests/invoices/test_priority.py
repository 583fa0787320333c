"""Priority that holds after receipt, with real worker processes: regular sends run on one
`celery worker` process (invoices_regular), priority sends and the poll on another
(invoices_priority, sqs_polling), SMTP is aiosmtpd, SQS a moto server. Not eager: ordering is only
visible when real workers race for real queues."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from invoices.models import AttemptStatus, EmailAttempt, EmailKind
from invoices.queues import send_email_via_queue
from invoices.tasks import invoice_queues_poll_task
from tests.helpers import free_port, wait_for
from tests.invoices.conftest import make_queues

# Slow tier: 1,000 SendMessage calls to moto, then the drain (220 s at load 2 on 2 cores).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(480)]
REGULAR, PRIORITY = 1000, 20


@dataclass
class TimedInbox:
    """Subjects in the order the SMTP server accepted them, with the time of each."""

    accepted: list[tuple[float, str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        subject = next(
            (ln[9:] for ln in envelope.content.decode().splitlines() if ln.startswith("Subject: ")), ""
        )
        self.accepted.append((time.monotonic(), subject))
        return "250 OK"


@pytest.fixture
def timed_smtp():
    inbox, port = TimedInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _workers(worker_process, port: int, settings, **extra: str) -> None:
    env = {
        "AWS_ENDPOINT_URL": settings.AWS_ENDPOINT_URL or "",
        "QUEUE_PROVIDER": settings.QUEUE_PROVIDER,
        "SQS_PRIORITY_QUEUE_URL": settings.SQS_PRIORITY_QUEUE_URL,
        "SQS_REGULAR_QUEUE_URL": settings.SQS_REGULAR_QUEUE_URL,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_USE_TLS": "0",
        "DEBUG": "1",
        **extra,
    }
    # the priority worker first: the regular one starts draining the moment it is ready
    worker_process("priority", queues=["invoices_priority", "sqs_polling"], concurrency=2, **env)
    worker_process("regular", queues=["invoices_regular"], concurrency=2, **env)


def _queue(n: int, priority: int, prefix: str) -> None:
    kind = EmailKind.PASSWORD_RESET if priority <= 3 else EmailKind.NOTIFICATION
    for i in range(n):
        send_email_via_queue(
            to=f"{prefix}{i}@example.org", priority=priority, kind=kind, subject=f"{prefix}-{i}", text="hello"
        )


def _check_priority_first(inbox: TimedInbox, enqueued_at: float, regular: int) -> list[float]:
    """Every priority e-mail was accepted while regular mail was still waiting; returns the
    priority e-mails' latencies from enqueue to SMTP accept, sorted."""
    subjects = [s for _, s in inbox.accepted]
    last_priority = max(i for i, s in enumerate(subjects) if s.startswith("p-"))
    regular_before = sum(1 for s in subjects[:last_priority] if s.startswith("r-"))
    assert regular_before < regular, "the regular backlog drained before the priority mail"
    return sorted(t - enqueued_at for t, s in inbox.accepted if s.startswith("p-"))


def test_priority_mail_overtakes_a_1000_mail_sqs_backlog(aws, settings, worker_process, timed_smtp):
    # given 1,000 regular e-mails on the regular SQS queue and workers draining them
    inbox, port = timed_smtp
    make_queues(settings)
    _queue(REGULAR, 5, "r")
    _workers(worker_process, port, settings)
    invoice_queues_poll_task.enqueue()
    wait_for(lambda: len(inbox.accepted) >= 50, timeout=60, message="the regular backlog moving")
    # when 20 password resets are queued behind the backlog
    enqueued_at = time.monotonic()
    _queue(PRIORITY, 1, "p")
    wait_for(
        lambda: sum(s.startswith("p-") for _, s in inbox.accepted) == PRIORITY,
        timeout=60,
        message="the 20 priority e-mails",
    )
    # then each was accepted by the SMTP server before the regular backlog drained
    latencies = _check_priority_first(inbox, enqueued_at, REGULAR)
    assert latencies[-1] < 10, latencies
    # and everything is sent exactly once, nothing dead-lettered or stuck
    wait_for(lambda: len(inbox.accepted) >= REGULAR + PRIORITY, timeout=300, message="all e-mails")
    time.sleep(1)
    subjects = [s for _, s in inbox.accepted]
    assert len(subjects) == len(set(subjects)) == REGULAR + PRIORITY
    assert EmailAttempt.objects.exclude(status=AttemptStatus.SENT).count() == 0


def test_priority_holds_with_the_celery_provider(settings, worker_process, timed_smtp):
    # given QUEUE_PROVIDER=celery and 1,000 regular e-mails waiting on invoices_regular
    inbox, port = timed_smtp
    settings.QUEUE_PROVIDER = "celery"
    _queue(REGULAR, 7, "r")
    _workers(worker_process, port, settings)
    wait_for(lambda: len(inbox.accepted) >= 20, timeout=60, message="the regular backlog moving")
    # when 10 verification e-mails are queued
    enqueued_at = time.monotonic()
    _queue(10, 2, "p")
    wait_for(lambda: sum(s.startswith("p-") for _, s in inbox.accepted) == 10, timeout=60, message="priority")
    # then they overtake the backlog
    _check_priority_first(inbox, enqueued_at, REGULAR)
    wait_for(lambda: len(inbox.accepted) >= REGULAR + 10, timeout=240, message="all e-mails")
    assert len({s for _, s in inbox.accepted}) == REGULAR + 10

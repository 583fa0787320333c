"""A mail server refusing recipients at RCPT (aiosmtpd answering per address): 450/451/452 is
tried again later, 5xx fails for good, and no recipient address reaches the job's last_error,
its attempt rows, its result or the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from jobs import Job
from jobs.testing import drain, manual
from tests.helpers import free_port
from tests.queue_handlers.conftest import enqueue

pytestmark = pytest.mark.django_db

REPLIES = {
    "greylisted": "450 4.2.0 <{a}>: Recipient address rejected: Greylisted, try again later",
    "busy": "451 4.3.0 <{a}>: Temporary lookup failure",
    "full": "452 4.2.2 <{a}>: Mailbox full",
    "unknown": "550 5.1.1 <{a}>: Recipient address rejected: User unknown",
    "relay": "554 5.7.1 <{a}>: Relay access denied",
}


class RefusingServer:
    """Answers RCPT by the address's local part (REPLIES); `accept_all` lifts the refusals."""

    def __init__(self) -> None:
        self.accept_all = False
        self.delivered: list[list[str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        reply = REPLIES.get(address.partition("@")[0])
        if reply and not self.accept_all:
            return reply.format(a=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def refusing(settings) -> Iterator[RefusingServer]:
    handler = RefusingServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def _our_log(caplog) -> str:
    """What this service logged, tracebacks included (not the fake mail server's "mail.log")."""
    return " ".join(
        caplog.handler.format(r) + str(getattr(r, "fields", ""))
        for r in caplog.records
        if not r.name.startswith("mail.log")
    )


def _everything_people_see(job: Job) -> str:
    job.refresh_from_db()
    attempts = [a.error for a in job.attempts.all()]
    return f"{job.last_error} {job.result} {job.args} {job.kwargs} {attempts}"


@pytest.mark.parametrize("local, code", [("greylisted", 450), ("busy", 451), ("full", 452)])
def test_a_4xx_refusal_is_retried_and_names_no_address(refusing, caplog, local, code):
    address = f"{local}@example.org"
    caplog.set_level(logging.DEBUG)
    with manual():
        res = enqueue("email", {"to": address, "subject": "Your report"})
        assert drain("handlers", with_scheduled=False) == {"retrying": 1}
    job = Job.objects.get(pk=res.job_id)
    seen = _everything_people_see(job)
    assert job.state == "retrying" and f"SmtpUnavailable: mail server refused 1 recipient(s) ({code})" in seen
    assert "example.org" not in seen and "example.org" not in _our_log(caplog)

    refusing.accept_all = True  # the greylisting passed: the retry delivers it
    with manual():
        assert drain("handlers") == {"succeeded": 1}
    assert refusing.delivered == [[address]]


@pytest.mark.parametrize("local, code", [("unknown", 550), ("relay", 554)])
def test_a_5xx_refusal_fails_for_good_and_names_no_address(refusing, caplog, local, code):
    caplog.set_level(logging.DEBUG)
    with manual():
        res = enqueue("email", {"to": f"{local}@example.org", "subject": "Your report"})
        assert drain("handlers") == {"failed": 1}  # not retried
    job = Job.objects.get(pk=res.job_id)
    seen = _everything_people_see(job)
    assert job.attempt == 1 and f"PermanentJobError: mail server refused 1 recipient(s) ({code})" in seen
    assert "example.org" not in seen and "example.org" not in _our_log(caplog)
    assert refusing.delivered == []

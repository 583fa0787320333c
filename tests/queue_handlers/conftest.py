"""Fixtures for the queue_handlers tests: a real SMTP server, helpers to enqueue and to run a job
now, and a registry that forgets what a test registered."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import TestCase

from jobs import Enqueued
from queue_handlers import registry
from queue_handlers.models import HandlerJob
from queue_handlers.services import enqueue_job, handler_job_run

SECRET = "test-webhook-secret"


class Inbox:
    """aiosmtpd handler keeping every message it accepts (envelope and raw content)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "rcpt": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf8", "replace"),
            }
        )
        return "250 OK"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A real SMTP server on loopback, with Django's SMTP backend pointed at it."""
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


@pytest.fixture
def webhook_settings(settings):
    """pytest-httpserver listens on loopback: allow exactly that host, and sign."""
    settings.WEBHOOK_SIGNING_SECRET = SECRET
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    return settings


_overrides = ExitStack()


@pytest.fixture(autouse=True)
def _forget_registrations() -> Iterator[None]:
    before = dict(registry._explicit)
    yield
    _overrides.close()
    assert registry._explicit == before


def register(job_type: str, handler: Any) -> None:
    """A test's handler, in this process only (drain() and the in-process worker see it;
    registering at run time is refused in real code), forgotten when the test ends."""
    _overrides.enter_context(registry.override_handler(job_type, handler))


def run_now(job_type: str, payload: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Run a job's handler in this process, the way the dispatch task does (no broker)."""
    registry.get_handler(job_type).validate_payload(payload)
    record = HandlerJob.objects.create(job_type=job_type, payload=payload)
    return handler_job_run(job_type=job_type, handler_job_id=str(record.pk), attempt=attempt)


def enqueue(job_type: str, payload: dict[str, Any], **options: Any) -> Enqueued:
    """enqueue_job as a caller whose transaction commits sees it: its on-commit step (which
    writes the dispatch job's row) runs now, inside the test's transaction (the `db` fixture)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return enqueue_job(job_type, payload, **options)

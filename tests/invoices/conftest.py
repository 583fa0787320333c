"""AWS is a moto server on loopback (so worker threads and processes reach it too), SMTP is a
real aiosmtpd server; each test gets queues of its own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from invoices import sqs
from invoices.queues import queues_setup
from project.celery import app
from tests.helpers import free_port

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server's request log
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's connection log


@dataclass
class Queues:
    priority: str
    regular: str
    priority_dlq: str
    regular_dlq: str

    def depth(self, url: str) -> int:
        attrs = sqs.queue_attributes(queue_url=url)
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def aws(settings, moto_server: str) -> Iterator[None]:
    settings.AWS_ENDPOINT_URL = moto_server
    settings.AWS_REGION = "us-east-1"
    settings.QUEUE_PROVIDER = "sqs"
    yield


def make_queues(settings, *, visibility: int = 300, receives: int = 5) -> Queues:
    tag = uuid.uuid4().hex[:10]
    settings.SQS_PRIORITY_QUEUE_NAME = f"prio-{tag}"
    settings.SQS_REGULAR_QUEUE_NAME = f"regular-{tag}"
    settings.SQS_PRIORITY_QUEUE_URL = settings.SQS_REGULAR_QUEUE_URL = ""
    made = queues_setup(visibility_timeout=visibility, max_receive_count=receives)
    settings.SQS_PRIORITY_QUEUE_URL = made["priority"]["url"]
    settings.SQS_REGULAR_QUEUE_URL = made["regular"]["url"]
    return Queues(
        made["priority"]["url"],
        made["regular"]["url"],
        made["priority"]["dlq_url"],
        made["regular"]["dlq_url"],
    )


@pytest.fixture
def queues(aws, settings) -> Queues:
    return make_queues(settings)


@dataclass
class Inbox:
    """What the SMTP server received; `reply` makes it refuse DATA (e.g. "451 ...")."""

    received: list[EmailMessage] = field(default_factory=list)
    reply: str | None = None
    refused: int = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            self.refused += 1
            return self.reply
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


@pytest.fixture
def eager() -> Iterator[None]:
    """Jobs run inline in the caller (the jobs layer's eager path), for single-process tests."""
    # The app reads Django settings under the CELERY_ namespace, so the namespaced keys count.
    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.CELERY_TASK_ALWAYS_EAGER = app.conf.CELERY_TASK_EAGER_PROPAGATES = True
    assert app.conf.task_always_eager
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_TASK_EAGER_PROPAGATES = old

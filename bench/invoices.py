"""Invoices: PDFs rendered per second, and invoice e-mails per second end to end.

End to end = the Email action's service (attempt row + SQS message on a moto server) → the
beat-driven poll job → send jobs on a real in-process Celery worker (threads, 4) → rendering the
PDF → SMTP to a local aiosmtpd server, until all 500 have been received. Medians of 3 runs.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import date
from decimal import Decimal

from bench.common import figure, median_of, setup_django

N = 500
RUNS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


class _Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received += 1
        return "250 OK"


def _invoices(tag: str) -> list:
    from invoices.models import Invoice, InvoiceLine

    invoices = Invoice.objects.bulk_create(
        Invoice(
            number=f"B-{tag}-{i:04d}",
            customer_name=f"Customer {i}",
            customer_email=f"bench{i}@example.org",
            issue_date=date(2025, 3, 1),
            due_date=date(2025, 3, 31),
        )
        for i in range(N)
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=inv,
            position=j,
            description=f"Service {j}",
            quantity=Decimal(j + 1),
            unit_price=Decimal("19.99"),
            tax_rate=Decimal("23"),
        )
        for inv in invoices
        for j in range(5)
    )
    return list(Invoice.objects.filter(number__startswith=f"B-{tag}-").prefetch_related("lines"))


def _pdf_rate(invoices: list) -> float:
    from invoices.pdf import invoice_pdf_render

    started = time.perf_counter()
    for invoice in invoices:
        invoice_pdf_render(invoice=invoice)
    return len(invoices) / (time.perf_counter() - started)


def _email_rate(invoices: list, inbox: _Counter) -> float:
    from invoices.models import AttemptStatus, EmailAttempt
    from invoices.queues import invoice_email_queue
    from invoices.tasks import invoice_queues_poll_task

    inbox.received = 0
    started = time.perf_counter()
    ids = [invoice_email_queue(invoice=inv).pk for inv in invoices]
    deadline = time.monotonic() + 600
    while inbox.received < N:
        invoice_queues_poll_task.enqueue()  # what beat does every few seconds
        time.sleep(0.5)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {inbox.received} of {N} e-mails arrived")
    elapsed = time.perf_counter() - started
    sent = EmailAttempt.objects.filter(pk__in=ids, status=AttemptStatus.SENT).count()
    if sent != N:
        raise AssertionError(f"{sent} attempts recorded as sent, expected {N}")
    return N / elapsed


def run() -> list[dict]:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    setup_django()
    import logging
    import subprocess
    import sys

    from aiosmtpd.controller import Controller
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from invoices.queues import queues_setup
    from project.celery import QUEUES, app

    for name in ("werkzeug", "mail.log", "jobs", "invoices", "celery"):
        logging.getLogger(name).setLevel(logging.WARNING)
    moto_port, smtp_port = _free_port(), _free_port()
    # moto in its own process: in this one it would share the GIL with the worker it serves.
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(moto_port)
    inbox = _Counter()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    tag = uuid.uuid4().hex[:8]
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{moto_port}"
    settings.QUEUE_PROVIDER = "sqs"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp_port, False
    settings.SQS_PRIORITY_QUEUE_NAME = f"bench-prio-{tag}"
    settings.SQS_REGULAR_QUEUE_NAME = f"bench-regular-{tag}"
    made = queues_setup()
    settings.SQS_PRIORITY_QUEUE_URL = made["priority"]["url"]
    settings.SQS_REGULAR_QUEUE_URL = made["regular"]["url"]
    try:
        invoices = _invoices(tag)
        pdf = median_of(RUNS, lambda: _pdf_rate(invoices))
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            queues=list(QUEUES),
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            email = median_of(RUNS, lambda: _email_rate(invoices, inbox))
    finally:
        smtp.stop()
        moto.terminate()
        moto.wait(10)
    return [
        figure("invoices.pdf_per_s", pdf, "PDFs/s (5-line invoice, reportlab)"),
        figure(
            "invoices.email_per_s",
            email,
            f"e-mails/s end to end for {N} ({RUNS}-run median, moto SQS + aiosmtpd)",
        ),
    ]

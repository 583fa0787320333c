"""Invoices: PDFs rendered per second, invoice e-mails per second end to end, and the latency of
priority mail behind a 1,000-mail backlog.

One worker node of two `celery worker` processes: one for invoices_regular (prefork, 2) and
one for invoices_priority + sqs_polling (prefork, 2; compose gives the poll a worker of its own,
so there priority mail has both slots); moto (SQS) in its own process; aiosmtpd in this one.
- invoices.email_per_s: the "Email selected invoices" service (attempt rows + SQS batches of
  ten) for 500 invoices → the poll job (it snoozes while backpressure holds regular mail in SQS)
  → send jobs → PDF → SMTP, until all 500 are accepted.
- invoices.moto_sqs_ceiling_per_s, the peer: the same SQS calls a mail costs (SendMessageBatch,
  ReceiveMessage of ten, DeleteMessage) from one bare boto3 loop on the same moto, with no
  Django, Celery, PDF or SMTP. moto spends time on every received message proportional to the
  queue's length (its retention check computes all queue attributes), so this is what moto
  allows 500 messages; invoices.email_vs_moto_ceiling is the ratio.
- invoices.email_per_s_celery_provider: the same 500 with QUEUE_PROVIDER=celery (no SQS).
- invoices.priority_latency_p99_s: the test's scenario (tests/invoices/test_priority.py): 1,000
  regular e-mails queued and draining, then 20 priority ones; p99 (nearest rank) of enqueue →
  SMTP accept.
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
BACKLOG, PRIORITY = 1000, 20


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
        self.priority: list[float] = []  # accept times of subjects starting "p-"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received += 1
        if b"Subject: p-" in envelope.content:
            self.priority.append(time.monotonic())
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


def _email_rate(invoices: list, inbox: _Counter, provider: str = "sqs") -> float:
    from django.conf import settings

    from invoices.models import AttemptStatus, EmailAttempt
    from invoices.queues import invoices_email_queue
    from invoices.tasks import invoice_queues_poll_task

    inbox.received = 0
    settings.QUEUE_PROVIDER = provider
    started = time.perf_counter()
    ids = [a.pk for a in invoices_email_queue(invoices=invoices)]
    if provider == "sqs":
        invoice_queues_poll_task.enqueue()  # what beat does; the job snoozes while mail is left
    _wait(lambda: inbox.received >= N, 600, f"{N} e-mails")
    elapsed = time.perf_counter() - started
    sent = EmailAttempt.objects.filter(pk__in=ids, status=AttemptStatus.SENT).count()
    if sent != N:
        raise AssertionError(f"{sent} attempts recorded as sent, expected {N}")
    return N / elapsed


def _moto_ceiling() -> float:
    from project import aws

    sqs = aws.client("sqs")  # the service's own client and Config; the calls below are bare
    url = sqs.create_queue(QueueName=f"bench-ceiling-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    started = time.perf_counter()
    for i in range(0, N, 10):
        entries = [{"Id": str(j), "MessageBody": f'{{"v": 1, "attempt_id": {i + j}}}'} for j in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    done = 0
    while done < N:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            done += 1
    return N / (time.perf_counter() - started)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(0.05)


def _priority_p99(inbox: _Counter) -> float:
    from invoices.queues import send_email_via_queue
    from invoices.tasks import invoice_queues_poll_task

    inbox.received, inbox.priority = 0, []
    for i in range(BACKLOG):
        send_email_via_queue(to=f"r{i}@example.org", priority=5, subject=f"r-{i}", text="hello")
    invoice_queues_poll_task.enqueue()
    _wait(lambda: inbox.received >= 50, 120, "the backlog moving")
    enqueued = time.monotonic()
    for i in range(PRIORITY):
        send_email_via_queue(
            to=f"p{i}@example.org", priority=1, kind="password_reset", subject=f"p-{i}", text="x"
        )
    _wait(lambda: len(inbox.priority) >= PRIORITY, 120, "the priority e-mails")
    backlog_left = BACKLOG + PRIORITY - inbox.received
    if backlog_left <= 0:
        raise AssertionError("the backlog drained before the priority mail")
    latencies = sorted(t - enqueued for t in inbox.priority)
    _wait(lambda: inbox.received >= BACKLOG + PRIORITY, 600, "the backlog")
    return latencies[max(0, -(-99 * len(latencies) // 100) - 1)]


def _workers(settings, smtp_port: int) -> list:
    import subprocess
    import sys

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "AWS_ENDPOINT_URL": settings.AWS_ENDPOINT_URL,
        "QUEUE_PROVIDER": "sqs",
        "SQS_PRIORITY_QUEUE_URL": settings.SQS_PRIORITY_QUEUE_URL,
        "SQS_REGULAR_QUEUE_URL": settings.SQS_REGULAR_QUEUE_URL,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_USE_TLS": "0",
        "LOG_LEVEL": "WARNING",
    }
    procs = []
    for name, queues in (("bprio", "invoices_priority,sqs_polling"), ("breg", "invoices_regular")):
        cmd = [sys.executable, "-m", "celery", "-A", "project", "worker", "-n", f"{name}@%h", "-Q", queues]
        cmd += ["-c", "2", "-l", "WARNING", "--without-gossip", "--without-mingle"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from project.celery import app

    def ready() -> bool:
        names = {n for r in (app.control.ping(timeout=0.5) or []) for n in r}
        return any(n.startswith("bprio@") for n in names) and any(n.startswith("breg@") for n in names)

    _wait(ready, 60, "workers ready")
    return procs


def run() -> list[dict]:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    setup_django()
    import logging
    import signal
    import subprocess
    import sys

    from aiosmtpd.controller import Controller
    from django.conf import settings

    from invoices.queues import queues_setup

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
    settings.SQS_PRIORITY_QUEUE_NAME = f"bench-prio-{tag}"
    settings.SQS_REGULAR_QUEUE_NAME = f"bench-regular-{tag}"
    made = queues_setup()
    settings.SQS_PRIORITY_QUEUE_URL = made["priority"]["url"]
    settings.SQS_REGULAR_QUEUE_URL = made["regular"]["url"]
    workers: list = []
    try:
        invoices = _invoices(tag)
        pdf = median_of(3, lambda: _pdf_rate(invoices))
        workers = _workers(settings, smtp_port)
        ceiling = median_of(RUNS, _moto_ceiling)
        email = median_of(RUNS, lambda: _email_rate(invoices, inbox))
        celery = median_of(RUNS, lambda: _email_rate(invoices, inbox, provider="celery"))
        settings.QUEUE_PROVIDER = "sqs"
        p99 = _priority_p99(inbox)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(30)
        smtp.stop()
        moto.terminate()
        moto.wait(10)
    return [
        figure("invoices.pdf_per_s", pdf, "PDFs/s (5-line invoice, reportlab)"),
        figure(
            "invoices.email_per_s",
            email,
            f"invoice e-mails/s end to end for {N} (PDF each; moto SQS + aiosmtpd; 2 worker processes)",
        ),
        figure("invoices.moto_sqs_ceiling_per_s", ceiling, f"messages/s, bare boto3 on the same moto, {N}"),
        figure(
            "invoices.email_vs_moto_ceiling",
            email / ceiling,
            "× the moto ceiling (invoices.email_per_s / peer)",
        ),
        figure(
            "invoices.email_per_s_celery_provider",
            celery,
            f"invoice e-mails/s end to end for {N} with QUEUE_PROVIDER=celery (no SQS)",
        ),
        figure(
            "invoices.priority_latency_p99_s",
            p99,
            f"s, enqueue to SMTP accept, p99 of {PRIORITY} priority e-mails behind {BACKLOG} regular",
        ),
    ]

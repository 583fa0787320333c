"""Mail a newcomer can see (the outbox and its admin viewer), re-sending asks first, and the
seed's knobs (QUEUE_PROVIDER=memory, AWS_ENDPOINT, messages sent in the queue metrics)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from invoices.health import invoice_queues_health
from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import invoice_email_queue
from jobs.testing import drain, manual
from tests.conftest import ROOT
from tests.invoices.factories import invoice_with_lines

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EMAIL_DELIVERY_BACKEND = "invoices.outbox.OutboxEmailBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.QUEUE_PROVIDER = "celery"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.FRONTEND_URL = "http://localhost:8000"
    return tmp_path / "outbox"


def _send_invoice() -> EmailAttempt:
    """The Email button's path with QUEUE_PROVIDER=celery; the send job runs here (drain)."""
    with manual():
        attempt = invoice_email_queue(invoice=invoice_with_lines())
        assert drain("invoices_regular") == {"succeeded": 1}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SENT
    return attempt


def test_an_invoice_lands_in_the_outbox_with_html_pdf_and_a_working_pay_link(admin_client, outbox):
    attempt = _send_invoice()
    assert attempt.backend == "outbox" and attempt.provider_message_id.startswith("outbox:")
    assert len(list(outbox.glob("*.eml"))) == 1
    # the admin's outbox lists it and opens it: HTML part, text, the PDF to download
    listing = admin_client.get("/admin/invoices/invoice/outbox/")
    assert listing.status_code == 200 and attempt.invoice.number.encode() in listing.content
    name = attempt.provider_message_id.removeprefix("outbox:")
    page = admin_client.get(f"/admin/invoices/invoice/outbox/{name}/").content.decode()
    assert "<iframe" in page and "HTML part" in page and ".pdf" in page
    pdf = admin_client.get(f"/admin/invoices/invoice/outbox/{name}/0/")
    assert pdf["Content-Disposition"] == f'attachment; filename="invoice-{attempt.invoice.number}.pdf"'
    assert pdf.content.startswith(b"%PDF")
    # and the pay link in it opens the invoice
    token = re.search(r"http://localhost:8000/pay/([A-Za-z0-9_-]+)", page).group(1)
    assert admin_client.get(f"/pay/{token}").status_code == 200
    # and nothing outside the outbox can be read through the viewer
    assert admin_client.get("/admin/invoices/invoice/outbox/..passwd/").status_code == 404
    assert admin_client.get("/admin/invoices/invoice/outbox/..%2F..%2Fetc%2Fpasswd/").status_code != 200


def test_the_outbox_needs_a_login(client, outbox):
    assert client.get("/admin/invoices/invoice/outbox/").status_code == 302


def test_resending_an_invoice_already_sent_asks_first(admin_client, outbox):
    attempt = _send_invoice()
    url = f"/admin/invoices/invoice/{attempt.invoice_id}/email/"
    page = admin_client.post(url)
    assert page.status_code == 200 and b"already e-mailed" in page.content
    assert EmailAttempt.objects.filter(invoice_id=attempt.invoice_id).count() == 1  # nothing queued
    admin_client.post(url, {"confirm": "yes"})
    assert EmailAttempt.objects.filter(invoice_id=attempt.invoice_id).count() == 2


def test_queue_metrics_count_messages_sent_in_the_last_hour(outbox):
    _send_invoice()
    report = invoice_queues_health()
    assert report["regular"]["sent_last_hour"] == 1 and report["priority"]["sent_last_hour"] == 0
    assert EmailAttempt.objects.get().status == AttemptStatus.SENT


def _settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='project.settings'; "
        "from django.conf import settings; "
        "print(settings.QUEUE_PROVIDER, settings.AWS_ENDPOINT_URL, settings.EMAIL_DELIVERY_BACKEND)"
    )
    full = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "EMAIL_PROVIDER")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**full, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_seed_knobs_memory_provider_aws_endpoint_alias_and_outbox_default():
    out = _settings_in_subprocess(QUEUE_PROVIDER="memory", AWS_ENDPOINT="http://127.0.0.1:4566")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["celery", "http://127.0.0.1:4566", "invoices.outbox.OutboxEmailBackend"]
    bad = _settings_in_subprocess(QUEUE_PROVIDER="rabbit")
    assert bad.returncode != 0 and "QUEUE_PROVIDER must be sqs, celery or memory" in bad.stderr

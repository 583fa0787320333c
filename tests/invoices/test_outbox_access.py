"""The Outbox holds customers' mail (invoice PDFs, pay links, reset links): it needs the view
permission on e-mail attempts, and an attachment is always a download in a sandbox, whatever
type its sender named."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage
from django.test import Client

from tests.invoices.factories import invoice_with_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox_mail(settings, tmp_path) -> str:
    """One message in the outbox, with an HTML "attachment" that would run script inline."""
    settings.EMAIL_BACKEND = "invoices.outbox.OutboxEmailBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    msg = EmailMessage("Reset your password", "https://example.com/reset/SECRET", to=["ada@example.com"])
    msg.attach('evil".html', b"<script>fetch('/admin/')</script>", "text/html")
    msg.send()
    return msg.provider_message_id.removeprefix("outbox:")  # type: ignore[attr-defined]


def _staff(django_user_model, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(username="staff", password="pw-staff-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_the_view_permission_sees_no_outbox(django_user_model, outbox_mail):
    # a staff login that may look at invoices, but not at the e-mails sent
    client = _staff(django_user_model, "view_invoice")
    base = "/admin/invoices/invoice/outbox/"
    for url in (base, f"{base}{outbox_mail}/", f"{base}{outbox_mail}/0/"):
        resp = client.get(url)
        assert resp.status_code == 403 and b"SECRET" not in resp.content and b"script" not in resp.content
    page = client.get(f"/admin/invoices/invoice/{invoice_with_lines().pk}/change/").content.decode()
    assert "Invoice" in page and "invoices/invoice/outbox/" not in page and ">Email</button>" not in page


def test_an_attachment_is_a_sandboxed_download_never_inline(django_user_model, outbox_mail):
    client = _staff(django_user_model, "view_emailattempt")
    base = "/admin/invoices/invoice/outbox/"
    assert b"Reset your password" in client.get(base).content
    assert b"SECRET" in client.get(f"{base}{outbox_mail}/").content

    resp = client.get(f"{base}{outbox_mail}/0/")
    assert resp.status_code == 200 and resp.content == b"<script>fetch('/admin/')</script>"
    assert resp["Content-Disposition"].startswith("attachment;")
    assert resp["Content-Type"] == "application/octet-stream"  # not the sender's text/html
    assert resp["Content-Security-Policy"] == "sandbox"
    assert resp["X-Content-Type-Options"] == "nosniff"

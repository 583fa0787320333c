"""Payment links: an unguessable token (256 bits) that exists only in the e-mail; the database
keeps its SHA-256, and /pay/<token> finds the invoice by hashing what it is given."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.utils import timezone

from invoices.models import EmailAttempt, Invoice, PaymentLink


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def payment_link_create(
    *,
    invoice: Invoice,
    attempt: EmailAttempt | None = None,
) -> tuple[PaymentLink, str]:
    """A new link; returns the row and the URL. The URL (with the token) is never stored or
    logged: the caller puts it in the e-mail and forgets it. A retried send replaces the link
    its failed try made, since that token never left this process."""
    token = secrets.token_urlsafe(32)
    if attempt is not None:
        PaymentLink.objects.filter(attempt=attempt).delete()
    link = PaymentLink.objects.create(invoice=invoice, attempt=attempt, token_hash=token_hash(token))
    return link, f"{settings.FRONTEND_URL.rstrip('/')}/pay/{token}"


def payment_link_open(*, token: str) -> PaymentLink | None:
    if not token or len(token) > 200:
        return None
    link = PaymentLink.objects.select_related("invoice").filter(token_hash=token_hash(token)).first()
    if link is not None:
        PaymentLink.objects.filter(pk=link.pk).update(last_opened_at=timezone.now())
    return link

"""Sending one EmailAttempt: claim it, render, send through the configured backend, record.

Exactly-once in effect: the attempt is claimed by a conditional update, so a redelivered queue
message (or a second worker) finds it sending or sent and sends nothing. The only window left is
a worker dying between the provider accepting the e-mail and the row saying so; such a claim is
taken over only after INVOICES_SENDING_STALE_AFTER.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from emails.suppression import SuppressedAddressError, ensure_not_suppressed
from invoices.exceptions import PermanentSendError, send_error_for
from invoices.models import AttemptStatus, EmailAttempt, EmailKind, Invoice, InvoiceStatus
from invoices.payment import payment_link_create
from invoices.pdf import amount_text, invoice_pdf_render

logger = logging.getLogger("invoices")

SENT, DONE_BEFORE, IN_PROGRESS, FAILED, SUPPRESSED, MISSING = (
    "sent",
    "done_before",
    "in_progress",
    "failed",
    "suppressed",
    "missing",
)
# Outcomes after which the queue message has nothing left to do and may be deleted.
FINAL_OUTCOMES = {SENT, DONE_BEFORE, FAILED, SUPPRESSED, MISSING}


def attempt_claim(*, attempt_id: int) -> str | None:
    """Take the attempt for this worker; None when taken, else the outcome to report."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.INVOICES_SENDING_STALE_AFTER)
    taken = (
        EmailAttempt.objects.filter(pk=attempt_id)
        .filter(
            Q(status__in=[AttemptStatus.QUEUED, AttemptStatus.RETRYING, AttemptStatus.DEAD_LETTERED])
            | Q(status=AttemptStatus.SENDING, claimed_at__lt=stale)
        )
        .update(status=AttemptStatus.SENDING, claimed_at=now, deliveries=F("deliveries") + 1)
    )
    if taken:
        return None
    status = EmailAttempt.objects.filter(pk=attempt_id).values_list("status", flat=True).first()
    if status is None:
        return MISSING
    return IN_PROGRESS if status == AttemptStatus.SENDING else DONE_BEFORE


def email_attempt_send(*, attempt_id: int, final: bool = False) -> str:
    """Send the attempt once. Raises TransientSendError (after recording it) when the caller's
    queue should deliver it again; `final` says this was the last delivery, so it is marked
    dead-lettered instead of retrying. Whatever goes wrong, the claim ends in a recorded state:
    before the provider accepted, as retrying/failed; after, as sent (so nothing goes twice)."""
    outcome = attempt_claim(attempt_id=attempt_id)
    if outcome is not None:
        logger.info("invoice email skipped attempt=%s outcome=%s", attempt_id, outcome)
        return outcome
    attempt = (
        EmailAttempt.objects.select_related("invoice").prefetch_related("invoice__lines").get(pk=attempt_id)
    )
    backend = backend_name()
    try:
        ensure_not_suppressed([attempt.recipient])
        message = email_message_build(attempt=attempt)
        # Our own attribute, not one Django declares: invoices.ses reads it back with getattr.
        setattr(message, "email_origin", ("invoice_attempt", str(attempt.pk)))  # noqa: B010
        provider_id = _deliver(message)
    except SuppressedAddressError:
        _finish(
            attempt,
            AttemptStatus.SUPPRESSED,
            error="refused: the recipient is suppressed (hard bounce or complaint)",
        )
        return SUPPRESSED
    except Exception as exc:
        error = send_error_for(exc)
        if isinstance(error, PermanentSendError):
            _finish(attempt, AttemptStatus.FAILED, error=str(error), backend=backend)
            return FAILED
        if final:
            _finish(
                attempt,
                AttemptStatus.DEAD_LETTERED,
                error=f"gave up after {attempt.deliveries} deliveries: {error}",
                backend=backend,
            )
        else:
            _finish(attempt, AttemptStatus.RETRYING, error=str(error), backend=backend)
        if error is exc:
            raise
        raise error from exc
    _finish(
        attempt,
        AttemptStatus.SENT,
        provider_message_id=provider_id[:200],
        sent_at=timezone.now(),
        backend=backend,
        error="",
        sealed_message="",  # a password reset link is not kept once it went out
    )
    if attempt.invoice_id:
        Invoice.objects.filter(pk=attempt.invoice_id, status=InvoiceStatus.DRAFT).update(
            status=InvoiceStatus.SENT
        )
    return SENT


def backend_name() -> str:
    """smtp, ses, outbox, locmem, console …: the module part of EMAIL_DELIVERY_BACKEND."""
    parts = settings.EMAIL_DELIVERY_BACKEND.rsplit(".", 2)
    return parts[-2] if len(parts) >= 2 else settings.EMAIL_DELIVERY_BACKEND


def _finish(attempt: EmailAttempt, status: str, **fields: object) -> None:
    EmailAttempt.objects.filter(pk=attempt.pk).update(status=status, **fields)
    logger.info(
        "invoice email attempt=%s kind=%s queue=%s delivery=%s outcome=%s",
        attempt.pk,
        attempt.kind,
        attempt.queue,
        attempt.deliveries,
        status,
    )


def email_message_build(*, attempt: EmailAttempt) -> EmailMessage:
    if attempt.sealed_message:  # handed over by Django's mail API (invoices.mail)
        from invoices.mail import stored_message

        return stored_message(sealed=attempt.sealed_message)
    headers = {"Message-ID": make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None)}
    if attempt.kind != EmailKind.INVOICE:
        msg = EmailMultiAlternatives(
            attempt.subject, attempt.body_text, to=[attempt.recipient], headers=headers
        )
        if attempt.body_html:
            msg.attach_alternative(attempt.body_html, "text/html")
        return msg
    invoice = attempt.invoice
    if invoice is None:
        raise PermanentSendError("the invoice of this e-mail was deleted")
    _link, pay_url = payment_link_create(invoice=invoice, attempt=attempt)
    context = {
        "invoice": invoice,
        "lines": invoice.line_list(),
        "pay_url": pay_url,
        "total": amount_text(invoice.total, invoice.currency),
    }
    msg = EmailMultiAlternatives(
        f"Invoice {invoice.number}: {context['total']} due {invoice.due_date:%Y-%m-%d}",
        render_to_string("invoices/email/invoice.txt", context),
        to=[attempt.recipient],
        headers=headers,
    )
    msg.attach_alternative(render_to_string("invoices/email/invoice.html", context), "text/html")
    msg.attach(f"invoice-{invoice.number}.pdf", invoice_pdf_render(invoice=invoice), "application/pdf")
    return msg


def _deliver(message: EmailMessage) -> str:
    """Send through settings.EMAIL_DELIVERY_BACKEND (EMAIL_BACKEND may be the queue itself);
    returns the provider's id for the message. Errors leave unmapped: the caller maps them
    (send_error_for), one rule for every backend."""
    with get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False) as conn:
        conn.send_messages([message])
    return getattr(message, "provider_message_id", None) or message.extra_headers["Message-ID"]

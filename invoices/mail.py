"""Django's mail API through the priority queue: EMAIL_BACKEND hands each message to the invoice
mail pipeline instead of sending it inline (seed 002: verification, password reset and account
mail are the priority queue's reason to exist).

`QueuedEmailBackend.send_messages` records one EmailAttempt per envelope recipient, holding the
whole MIME message Django built (headers, parts, attachments) encrypted at rest — a password
reset link is a credential — and publishes it after commit like any attempt: priority 1-3 to the
priority queue, 4-10 to the regular one. The worker sends the stored bytes unchanged through
EMAIL_DELIVERY_BACKEND (smtp, ses, outbox …) and clears them once sent.

A message is critical unless it says otherwise: `mail_mark(message, priority=5)` sends it
through the regular queue; without a mark it goes with EMAIL_QUEUE_DEFAULT_PRIORITY (2).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from email import message_from_bytes
from email.message import Message
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, MIMEMixin
from django.db import transaction

from emails.suppression import suppressed
from invoices.models import EmailAttempt, EmailKind
from invoices.queues import attempt_publish, queue_for_priority
from project.crypto import fernet

logger = logging.getLogger("invoices")
PURPOSE = "invoices.mail"


def mail_mark(message: EmailMessage, *, priority: int = 1, kind: str = EmailKind.ACCOUNT) -> EmailMessage:
    """Say how urgent a message sent through Django's mail API is (1-3 priority queue, 4-10
    regular) and what it is for; returns the message."""
    queue_for_priority(priority)  # a bad priority is refused here, in the caller's code
    if kind not in EmailKind.values or kind == EmailKind.INVOICE:
        raise ValueError(f"kind must be one of {', '.join(k for k in EmailKind.values if k != 'invoice')}")
    message.email_priority, message.email_kind = priority, kind  # type: ignore[attr-defined]
    return message


def mail_message_queue(*, message: EmailMessage) -> list[EmailAttempt]:
    """One attempt per recipient that is not suppressed, published after commit."""
    priority = getattr(message, "email_priority", settings.EMAIL_QUEUE_DEFAULT_PRIORITY)
    kind = getattr(message, "email_kind", EmailKind.ACCOUNT)
    queue = queue_for_priority(priority)
    from invoices.config import invoice_settings_get

    provider = invoice_settings_get().queue_provider
    raw = message.message().as_bytes(linesep="\n")
    from_email = message.from_email or settings.DEFAULT_FROM_EMAIL
    refused = set(suppressed(message.recipients()))
    attempts = []
    for to in message.recipients():
        if to.strip().lower() in refused:
            logger.info("queued mail skipped a suppressed recipient kind=%s", kind)
            continue
        sealed = _seal({"from": from_email, "to": [to], "raw": base64.b64encode(raw).decode()})
        attempts.append(
            EmailAttempt.objects.create(
                kind=kind,
                recipient=to,
                subject=str(message.subject)[:300],
                sealed_message=sealed,
                priority=priority,
                queue=queue,
                provider=provider,
            )
        )
    for attempt in attempts:
        transaction.on_commit(lambda a=attempt: attempt_publish(attempt=a))  # type: ignore[misc]
    return attempts


class QueuedEmailBackend(BaseEmailBackend):
    """EMAIL_BACKEND (EMAIL_THROUGH_QUEUE=1, the default): queue, do not send."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                queued += bool(mail_message_queue(message=message))
            except Exception:
                if not self.fail_silently:
                    raise
                logger.warning(
                    "queued mail could not be recorded kind=%s", getattr(message, "email_kind", "")
                )
        return queued


class _StoredMime(MIMEMixin, Message):  # type: ignore[misc]  # MIMEMixin's as_bytes takes linesep
    """A parsed stored message that Django's backends can flatten (`as_bytes(linesep=)`)."""


class StoredMessage(EmailMessage):
    """The message Django built when it was queued, replayed byte for byte by any backend."""

    def __init__(self, *, raw: bytes, from_email: str, recipients: list[str]) -> None:
        super().__init__(from_email=from_email, to=recipients)
        self._raw = raw
        parsed = self.message()
        self.subject = str(parsed.get("Subject", ""))
        self.extra_headers = {"Message-ID": str(parsed.get("Message-ID", ""))}

    def message(self, *args: Any, **kwargs: Any) -> Any:
        return message_from_bytes(self._raw, _class=_StoredMime)


def stored_message(*, sealed: str) -> StoredMessage:
    data = json.loads(fernet(PURPOSE).decrypt(sealed.encode()))
    return StoredMessage(raw=base64.b64decode(data["raw"]), from_email=data["from"], recipients=data["to"])


def _seal(data: dict[str, Any]) -> str:
    return fernet(PURPOSE).encrypt(json.dumps(data).encode()).decode()

"""The e-mail log at send time, and the one signal its events raise.

A sender writes the log row when SES accepts a message (keyed by SES's MessageId, with who sent
it: an invoice attempt or a job), so the events SES later publishes for it update a row that
knows its origin. `ses_events_recorded` is sent after the events' transaction commits, one
normalized list per batch (as django-anymail's tracking signal), so another app (invoices) can
mark its own rows without this app knowing them.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.dispatch import Signal
from django.utils import timezone

from emails.models import RANK, EmailLog, EmailStatus

# Sent with events=[RecordedEvent, ...] after commit.
ses_events_recorded = Signal()


def email_log_record_send(
    *, ses_message_id: str, origin: str, origin_id: str, source: str, destination: list[str]
) -> EmailLog:
    """The row for a message SES just accepted. Idempotent; an event that arrived first (rare,
    but SQS does not order) keeps its status, and the origin is filled in."""
    now = timezone.now()
    log, created = EmailLog.objects.get_or_create(
        ses_message_id=ses_message_id[:200],
        defaults={
            "origin": origin,
            "origin_id": origin_id[:64],
            "status": EmailStatus.SENT,
            "status_rank": RANK[EmailStatus.SENT],
            "source": source[:320],
            "destination": destination,
            "sent_at": now,
        },
    )
    if not created and not log.origin:
        EmailLog.objects.filter(pk=log.pk, origin="").update(origin=origin, origin_id=origin_id[:64])
    return log


class RecordedEvent(NamedTuple):
    ses_message_id: str
    event_type: str  # emails.models.EventType
    occurred_at: datetime
    permanent_bounce: bool

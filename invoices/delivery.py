"""What SES said after a send, on the attempt: the e-mail log's events (emails.log's signal)
mark the attempt whose provider message id they name. Status only rises (a Delivery after a
Bounce keeps bounced), as the log's own rule; the suppression list is fed by the emails app."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from emails.models import EventType
from invoices.models import EmailAttempt

# delivery_status values, lowest first: a later, lower one never overwrites a higher one.
ORDER = ["", "delivery_delayed", "delivered", "soft_bounced", "bounced", "complained"]


def _status(event_type: str, permanent: bool) -> str | None:
    if event_type == EventType.DELIVERY:
        return "delivered"
    if event_type == EventType.DELIVERY_DELAY:
        return "delivery_delayed"
    if event_type == EventType.BOUNCE:
        return "bounced" if permanent else "soft_bounced"
    if event_type == EventType.COMPLAINT:
        return "complained"
    return None


def attempts_mark_from_events(*, events: list[Any], **_: Any) -> int:
    """Receiver of emails.log.ses_events_recorded; returns the rows changed."""
    best: dict[str, tuple[str, Any]] = {}
    for e in events:
        status = _status(e.event_type, e.permanent_bounce)
        if status is None:
            continue
        seen = best.get(e.ses_message_id)
        if seen is None or ORDER.index(status) > ORDER.index(seen[0]):
            best[e.ses_message_id] = (status, e.occurred_at)
    changed = 0
    for ses_id, (status, at) in best.items():
        lower = ORDER[: ORDER.index(status)]
        changed += EmailAttempt.objects.filter(
            Q(provider_message_id=ses_id) & Q(delivery_status__in=lower)
        ).update(delivery_status=status, delivery_status_at=at)
    return changed

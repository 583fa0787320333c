"""Record SES events from SQS messages: exactly once, in bulk, never moving an e-mail backwards.

`ses_messages_process` is the hot path: one transaction per batch, events inserted with
`ON CONFLICT DO NOTHING RETURNING` (so duplicates are known and skipped precisely), the e-mail
log upserted through the one SQL merge rule (emails.processor_sql), suppressions and quarantined
messages bulk-inserted. When the database refuses the batch (one bad row must not block the
others), the same statements run again for one message at a time, each in its own savepoint, and
the one it refuses is quarantined. `ses_message_record` is that path for a single message (the
benchmark's baseline).

The caller deletes SQS messages only after this returns, i.e. after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings
from django.db import DataError, IntegrityError, transaction

from emails.log import RecordedEvent, ses_events_recorded
from emails.models import EventType, QuarantinedMessage, Suppression
from emails.parsing import Confirm, Event, Ignored, Invalid, parse
from emails.processor_sql import events_insert, logs_upsert
from emails.sqs import SqsMessage

logger = logging.getLogger("emails.processor")


@dataclass
class BatchResult:
    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    ignored: int = 0
    done: list[SqsMessage] = field(default_factory=list)  # safe to delete from SQS now

    def counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "ignored": self.ignored,
        }

    def add(self, other: BatchResult) -> None:
        for k, v in other.counts().items():
            setattr(self, k, getattr(self, k) + v)
        self.done.extend(other.done)


def ses_messages_process(*, messages: Sequence[SqsMessage]) -> BatchResult:
    """Record a batch; every message ends recorded, duplicate, quarantined or ignored."""
    max_bytes = settings.SES_EVENTS_MAX_MESSAGE_BYTES
    result = BatchResult(received=len(messages), done=list(messages))
    events: list[tuple[SqsMessage, Event]] = []
    bad: list[tuple[SqsMessage, str]] = []
    confirms: list[tuple[SqsMessage, Confirm]] = []
    for m in messages:
        try:
            parsed = parse(m.body, max_bytes=max_bytes)
        except Invalid as exc:
            bad.append((m, str(exc)))
            continue
        if isinstance(parsed, Confirm):
            confirms.append((m, parsed))
        elif isinstance(parsed, Ignored):
            result.ignored += 1
        else:
            events.append((m, parsed))
    failed = _confirm(confirms)  # a control message: acknowledged (ignored) once confirmed
    result.ignored += len(confirms) - len(failed)
    bad += failed
    unique: dict[str, tuple[SqsMessage, Event]] = {}
    for m, e in events:
        unique.setdefault(e.sns_message_id, (m, e))
    rejected: list[tuple[SqsMessage, str]] = []
    try:
        with transaction.atomic():
            recorded = _record(list(unique.values()))
            _quarantine(bad)
    except (DataError, IntegrityError) as exc:
        # One row the database refuses (a \u0000 in JSON, say) must not hold the batch back.
        # Any other database error is the database's problem, not the input's: it propagates,
        # nothing is deleted from SQS, and the messages come back.
        logger.warning(
            "batch rejected, recording one at a time",
            extra={"fields": {"error": type(exc).__name__, "size": len(messages)}},
        )
        recorded, rejected = _one_by_one(list(unique.values()))
        _quarantine(bad + rejected)
    _announce(recorded)
    result.recorded = len(recorded)
    result.duplicates = len(events) - len(recorded) - len(rejected)
    result.quarantined = len(bad) + len(rejected)
    return result


def _record(pairs: list[tuple[SqsMessage, Event]]) -> list[Event]:
    """Insert the events; the new ones (not duplicates) update their logs and suppressions."""
    inserted = events_insert(pairs)
    new = [e for _, e in pairs if e.sns_message_id in inserted]
    logs_upsert(new)
    _suppress(new)
    return new


def _one_by_one(
    pairs: list[tuple[SqsMessage, Event]],
) -> tuple[list[Event], list[tuple[SqsMessage, str]]]:
    """The same statements per message, each in a savepoint: (recorded, rejected)."""
    recorded: list[Event] = []
    rejected: list[tuple[SqsMessage, str]] = []
    for m, e in pairs:
        try:
            with transaction.atomic():
                recorded += _record([(m, e)])
        except (DataError, IntegrityError) as exc:
            rejected.append((m, f"database rejected it: {type(exc).__name__}"))
    return recorded, rejected


def ses_message_record(*, message: SqsMessage) -> str:
    """One message, one transaction; returns recorded, duplicates, quarantined or ignored."""
    counts = ses_messages_process(messages=[message]).counts()
    return next((k for k in ("recorded", "duplicates", "quarantined") if counts[k]), "ignored")


def _confirm(confirms: list[tuple[SqsMessage, Confirm]]) -> list[tuple[SqsMessage, str]]:
    """Confirm SNS subscriptions; the ones that fail are returned to be quarantined."""
    from emails.sns import SnsError, subscription_confirm

    failed = []
    for m, c in confirms:
        try:
            subscription_confirm(confirm=c)
        except SnsError as exc:
            failed.append((m, f"subscription not confirmed: {exc}"))
        else:
            logger.info("sns subscription confirmed", extra={"fields": {"topic": c.topic_arn}})
    return failed


def _announce(events: Iterable[Event]) -> None:
    """After commit: one normalized list for whoever tracks its own mail (invoices)."""
    recorded = [
        RecordedEvent(e.ses_message_id, e.event_type, e.occurred_at, e.permanent_bounce) for e in events
    ]
    if recorded:
        ses_events_recorded.send(sender=RecordedEvent, events=recorded)


# -- suppression and quarantine --------------------------------------------------------------
def _suppress(events: Iterable[Event]) -> None:
    """Hard bounces and complaints put their recipients on the suppression list."""
    rows: dict[str, Suppression] = {}
    for e in events:
        if e.event_type == EventType.BOUNCE and e.permanent_bounce:
            reason = Suppression.Reason.BOUNCE
        elif e.event_type == EventType.COMPLAINT:
            reason = Suppression.Reason.COMPLAINT
        else:
            continue
        for r in e.recipients:
            address = parseaddr(r)[1].strip().lower()
            if "@" in address and len(address) <= 254:
                rows.setdefault(
                    address,
                    Suppression(
                        address=address,
                        reason=reason,
                        detail=f"{e.event_type} {e.sub_type} {e.ses_message_id}".strip()[:200],
                    ),
                )
    if rows:
        Suppression.objects.bulk_create(list(rows.values()), ignore_conflicts=True)


def _quarantine(bad: list[tuple[SqsMessage, str]]) -> None:
    if not bad:
        return
    limit = settings.SES_EVENTS_MAX_MESSAGE_BYTES
    rows = []
    for m, reason in bad:
        raw = m.body.encode("utf-8", "surrogatepass")
        kept = raw[:limit].decode("utf-8", "ignore").replace("\x00", "\\u0000")
        rows.append(
            QuarantinedMessage(
                sqs_message_id=m.message_id[:100],
                reason=reason[:300],
                body=kept,
                body_bytes=len(raw),
                body_truncated=len(raw) > limit,
            )
        )
    QuarantinedMessage.objects.bulk_create(rows, ignore_conflicts=True)
    logger.warning(
        "quarantined SQS messages",
        extra={"fields": {"count": len(rows), "ids": ",".join(m.message_id for m, _ in bad)[:500]}},
    )

"""The relay: an attempt committed but never handed to its queue is published late, not lost.

`send_email_via_queue` commits the attempt row, then (on commit) sends its SQS message. A process
that dies in between — killed, out of memory, a deploy — leaves a row that says `queued` and that
no message will ever bring to a worker. Such a row has no `published_at`; beat runs this relay
every INVOICES_RELAY_EVERY seconds (its beat row keeps the last run, so a beat that was down runs
it at start), and it publishes every queued row left unpublished longer than INVOICES_RELAY_AFTER.

A duplicate is harmless: if the original publish was only slow, not dead, the queue holds two
messages for one attempt, and the worker claims the attempt with a conditional update
(invoices.sending.attempt_claim), so the second message finds it sent and sends nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from invoices.models import AttemptStatus, EmailAttempt
from invoices.queues import attempts_publish

logger = logging.getLogger("invoices")
BATCH = 500


def attempts_unpublished(*, older_than: float) -> list[EmailAttempt]:
    cutoff = timezone.now() - timedelta(seconds=older_than)
    return list(
        EmailAttempt.objects.filter(
            status=AttemptStatus.QUEUED, published_at__isnull=True, created_at__lt=cutoff
        ).order_by("created_at", "pk")[:BATCH]
    )


def attempts_relay(*, older_than: float | None = None) -> dict[str, int]:
    """Publish what was committed and never handed over. A queue that cannot be reached leaves
    the attempts for the next run (they are not failed for a blip); a refusal fails them, as a
    refusal at the first publish does."""
    bound = settings.INVOICES_RELAY_AFTER if older_than is None else older_than
    stuck = attempts_unpublished(older_than=bound)
    if not stuck:
        return {"relayed": 0, "failed": 0, "waiting": 0}
    attempts_publish(attempts=stuck, retry_later=True)
    counts = {
        "relayed": sum(1 for a in stuck if a.published_at is not None),
        "failed": sum(1 for a in stuck if a.status == AttemptStatus.FAILED),
    }
    counts["waiting"] = len(stuck) - counts["relayed"] - counts["failed"]
    logger.warning(
        "invoice attempts relayed=%s failed=%s waiting=%s (committed, never handed to the queue)",
        counts["relayed"],
        counts["failed"],
        counts["waiting"],
    )
    return counts

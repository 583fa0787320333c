"""One poll: long-poll SQS, record what arrives, delete only what is committed, repeat while
messages keep coming and the time budget lasts."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from emails import sqs
from emails.config import email_settings_get
from emails.models import PollState
from emails.processor import BatchResult, ses_messages_process

logger = logging.getLogger("emails.poller")


def sqs_poll(*, ignore_switches: bool = False) -> dict[str, Any]:
    """Run one poll with the settings as they are now (read fresh: a change made since the
    job was queued applies). Returns the counts, or {"skipped": reason} when switched off."""
    cfg = email_settings_get()
    skipped = _skip_reason(cfg, ignore_switches)
    if skipped:
        logger.info("sqs poll skipped", extra={"fields": {"reason": skipped}})
        return {"skipped": skipped, **BatchResult().counts()}
    total = BatchResult()
    deadline = time.monotonic() + cfg.poll_budget_seconds
    try:
        while True:
            wait = min(cfg.wait_time_seconds, max(int(deadline - time.monotonic()), 0))
            messages = sqs.receive(
                queue_url=cfg.queue_url,
                region=cfg.aws_region,
                max_messages=cfg.max_messages_per_poll,
                wait_seconds=wait,
                visibility_timeout=settings.SES_EVENTS_VISIBILITY_TIMEOUT,
            )
            if not messages:
                break
            batch = ses_messages_process(messages=messages)  # committed when it returns
            failed = sqs.delete(queue_url=cfg.queue_url, region=cfg.aws_region, messages=batch.done)
            if failed:  # they come back and are counted as duplicates then
                logger.warning("sqs delete failed", extra={"fields": {"count": len(failed)}})
            total.add(batch)
            if time.monotonic() >= deadline:
                break
    finally:
        _remember(total)
    counts = total.counts()
    logger.info("sqs poll done", extra={"fields": counts})
    return counts


def _skip_reason(cfg: Any, ignore_switches: bool) -> str:
    if not ignore_switches:
        if not cfg.system_enabled:
            return "e-mail system disabled"
        if not cfg.ses_events_enabled:
            return "SES events disabled"
        if not cfg.sqs_polling_enabled:
            return "SQS polling disabled"
    if not cfg.queue_url:
        return "no SQS queue URL"
    return ""


def _remember(total: BatchResult) -> None:
    """Last run and running totals, by F() so concurrent writers never lose a count."""
    counts = total.counts()
    PollState.objects.get_or_create(pk=1)
    PollState.objects.filter(pk=1).update(
        last_run_at=timezone.now(),
        last_result=counts,
        total_polls=F("total_polls") + 1,
        **{f"total_{k}": F(f"total_{k}") + v for k, v in counts.items()},
    )

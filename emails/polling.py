"""The public API for SES event polling (the seed's SQSPollingManager).

    from emails import polling
    polling.enable_polling(); polling.set_polling_interval(3000); polling.poll_now()
    polling.status()["pending_jobs"]

Changes take effect at the next poll without a restart: the beat row is updated in the same
transaction as the settings record, and every poll reads the settings afresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from emails.config import (
    POLL_TASK,
    EmailSettingsError,
    aws_configured,
    email_settings_get,
    email_settings_update,
    poll_periodic_task,
)
from emails.models import EmailSettings, PollState, QuarantinedMessage
from jobs import PENDING_STATES, Job, JobState

__all__ = [
    "EmailSettingsError",
    "PollBusyError",
    "configure",
    "disable_polling",
    "enable_polling",
    "poll_now",
    "poll_sync",
    "set_max_messages",
    "set_polling_interval",
    "status",
]


class PollBusyError(RuntimeError):
    """Another poll held the single-flight lease for longer than we were willing to wait."""


def enable_polling(*, first_poll: bool = True) -> EmailSettings:
    """Switch polling on; the first poll is queued once the change is committed."""
    obj = email_settings_update(sqs_polling_enabled=True)
    if first_poll and obj.polling_active:
        transaction.on_commit(poll_now)
    return obj


def disable_polling() -> EmailSettings:
    """Switch polling off: beat stops queueing polls and one already queued skips its work."""
    return email_settings_update(sqs_polling_enabled=False)


def set_polling_interval(ms: int) -> EmailSettings:
    """Milliseconds between polls, at least 1000 (beat rounds to the nearest second)."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise EmailSettingsError({"polling_interval_ms": [f"must be an integer, not {ms!r}"]})
    return email_settings_update(polling_interval_ms=ms)


def set_max_messages(n: int) -> EmailSettings:
    """Messages per SQS receive, 1-10."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise EmailSettingsError({"max_messages_per_poll": [f"must be an integer, not {n!r}"]})
    return email_settings_update(max_messages_per_poll=n)


def configure(**changes: Any) -> EmailSettings:
    """Any other setting by name (queue_url, aws_region, system_enabled, ses_events_enabled …)."""
    return email_settings_update(**changes)


def poll_now() -> Any:
    """Queue a poll now, whatever the schedule. Unique: while one is queued or running a second
    call returns the same job (`duplicate=True`)."""
    from emails.tasks import sqs_poll_task

    return sqs_poll_task.enqueue()


def poll_sync(*, wait: float = 60.0) -> dict[str, Any]:
    """Run one poll in this process, under the same single-flight lease as the workers' polls,
    and return its counts."""
    from emails.poller import sqs_poll
    from jobs import single_flight

    try:
        with single_flight(POLL_TASK, wait=wait):
            return sqs_poll()
    except Exception as exc:
        # jobs.SingleFlightBusy is not exported by `jobs`: recognised by name, not imported.
        if type(exc).__name__ != "SingleFlightBusy":
            raise
        raise PollBusyError(f"another poll kept running for more than {wait:g}s") from exc


def _next_poll(s: EmailSettings, beat: Any, pending: Any) -> tuple[int, datetime | None]:
    """(pending_jobs, next_poll_at) as the seed means them: the next poll waiting counts, be it
    a queued job or beat's next tick, so a healthy, switched-on poller shows 1, not 0 between
    ticks. A job already waiting (poll_now, a retry) is the next poll; else beat's next tick."""
    waiting = list(pending.order_by("scheduled_at", "enqueued_at").values_list("scheduled_at", "enqueued_at"))
    if waiting:
        scheduled, enqueued = waiting[0]
        return len(waiting), scheduled or enqueued
    if not (s.polling_active and beat is not None and beat.enabled and beat.interval):
        return 0, None
    last = beat.last_run_at
    every = timedelta(seconds=beat.interval.every)
    return 1, max(last + every, timezone.now()) if last else timezone.now()


def status() -> dict[str, Any]:
    """Everything an operator asks first: switches, timing, queue, backlog, last run, totals."""
    s = email_settings_get()
    state = PollState.objects.filter(pk=1).first()
    beat = poll_periodic_task()
    jobs = Job.objects.filter(task=POLL_TASK)
    pending_jobs, next_poll_at = _next_poll(s, beat, jobs.filter(state__in=PENDING_STATES))
    return {
        "enabled": s.sqs_polling_enabled,
        "active": s.polling_active,
        "interval_ms": s.polling_interval_ms,
        "interval_seconds": s.interval_seconds,
        "pending_jobs": pending_jobs,
        "next_poll_at": next_poll_at,
        "running_jobs": jobs.filter(state=JobState.STARTED).count(),
        "last_run": state.last_run_at if state else None,
        "last_result": state.last_result if state else {},
        "queue_url": s.queue_url,
        "aws_region": s.aws_region,
        "max_messages_per_poll": s.max_messages_per_poll,
        "wait_time_seconds": s.wait_time_seconds,
        "system_enabled": s.system_enabled,
        "ses_events_enabled": s.ses_events_enabled,
        "quarantined": QuarantinedMessage.objects.filter(reviewed=False).count(),
        "totals": {
            k: getattr(state, f"total_{k}", 0)
            for k in ("polls", "received", "recorded", "duplicates", "quarantined", "ignored")
        },
        "beat": {
            "enabled": beat.enabled,
            "every_seconds": beat.interval.every if beat and beat.interval else None,
        }
        if beat
        else None,
        "aws_configured": aws_configured(),
    }

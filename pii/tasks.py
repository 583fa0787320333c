"""Thin jobs: unpack, call a service. The message text is PII in a job argument (the issue
wants it there so the worker need not fetch it back), so `text` and `files` are `sensitive`:
the job history shows them as "[filtered]". No token is ever an argument."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs import job
from pii import services
from pii.slack import SlackRateLimited, SlackTransientError


def _rate_limited(task: Any, exc: SlackRateLimited) -> Exception:
    """Slack said when to come back: retry after exactly that, not after our backoff."""
    return task.retry(
        countdown=exc.retry_after,
        max_retries=task.job_options.max_attempts - 1 + settings.PII_RATE_LIMIT_RETRIES,
    )


@job(
    queue="events",
    max_attempts=3,
    backoff=(2, 120),
    retry_on=(SlackTransientError,),
    unique_for=3600,
    unique_on=("event_id",),
    sensitive=("text", "files"),
    bind=True,
)
def slack_message_scan_task(
    self: Any,
    *,
    event_id: str,
    team_id: str,
    channel: str,
    user: str,
    ts: str,
    text: str,
    files: list[dict[str, Any]],
) -> dict[str, Any]:
    try:
        return services.message_scan(
            team_id=team_id, channel=channel, user=user, ts=ts, text=text, files=files
        )
    except SlackRateLimited as exc:
        raise _rate_limited(self, exc) from None


@job(
    queue="pii_detection",
    max_attempts=3,
    backoff=(2, 120),
    retry_on=(SlackTransientError,),
    unique_for=3600,
    unique_on=("team_id", "channel", "ts", "file_id"),
    sensitive=("file",),
    bind=True,
)
def slack_file_scan_task(
    self: Any, *, team_id: str, channel: str, user: str, ts: str, file_id: str, file: dict[str, Any]
) -> dict[str, Any]:
    try:
        return services.file_scan(team_id=team_id, channel=channel, user=user, ts=ts, ref=file)
    except SlackRateLimited as exc:
        raise _rate_limited(self, exc) from None


@job(queue="default")
def slack_events_prune_task() -> int:
    return services.slack_events_prune()

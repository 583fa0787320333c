"""Thin jobs: unpack, call a service. The message text is PII in a job argument (so the worker
need not fetch it back), so `text`, `parts` and `files` are `sensitive`: the job history shows
them as "[filtered]". No token is ever an argument: the worker looks them up per workspace.

Waiting is `Snooze`: Slack's Retry-After frees the worker slot and is not counted as an attempt
(up to PII_RATE_LIMIT_RETRIES snoozes; after that the error is retried as an attempt, still
after Retry-After, so a workspace that is rate-limited for hours does not loop forever).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from jobs import Snooze, current_job, job
from pii import files, services
from pii.slack import SlackRateLimited, SlackTransientError

RETRY_ON = (SlackTransientError, SlackRateLimited)


def _snoozing(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except SlackRateLimited as exc:
        ctx = current_job()
        if ctx is not None and ctx.deferrals < settings.PII_RATE_LIMIT_RETRIES:
            raise Snooze(exc.retry_after, reason="slack ratelimited") from None
        raise


@job(
    queue="events",
    max_attempts=3,
    backoff=(2, 120),
    retry_on=RETRY_ON,
    unique_for=3600,
    unique_on=("event_id",),
    sensitive=("text", "parts", "files"),
    soft_time_limit=settings.PII_SCAN_SOFT_TIME_LIMIT,
    time_limit=settings.PII_SCAN_SOFT_TIME_LIMIT + 30,
)
def slack_message_scan_task(
    *,
    event_id: str,
    team_id: str,
    channel: str,
    user: str,
    ts: str,
    text: str,
    files: list[dict[str, Any]],
    parts: list[str] | None = None,
    enterprise_id: str = "",
) -> dict[str, Any]:
    return _snoozing(
        lambda: services.message_scan(
            team_id=team_id,
            enterprise_id=enterprise_id,
            channel=channel,
            user=user,
            ts=ts,
            text=text,
            parts=parts or [],
            files=files,
        )
    )


@job(
    queue="pii_detection",
    max_attempts=3,
    backoff=(2, 120),
    retry_on=RETRY_ON,
    unique_for=3600,
    unique_on=("team_id", "channel", "ts", "file_id"),
    sensitive=("file",),
    soft_time_limit=settings.PII_SCAN_SOFT_TIME_LIMIT,
    time_limit=settings.PII_SCAN_SOFT_TIME_LIMIT + 30,
)
def slack_file_scan_task(
    *,
    team_id: str,
    channel: str,
    user: str,
    ts: str,
    file_id: str,
    file: dict[str, Any],
    enterprise_id: str = "",
) -> dict[str, Any]:
    return _snoozing(
        lambda: files.file_scan(
            team_id=team_id, enterprise_id=enterprise_id, channel=channel, user=user, ts=ts, ref=file
        )
    )


@job(queue="default")
def slack_events_prune_task() -> int:
    return services.slack_events_prune()

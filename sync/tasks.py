"""Sync jobs: thin, they unpack ids and call a service (sync.runs, sync.participants)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from jobs import Snooze, current_job, job
from sync.models import Participant, SyncRun
from sync.participants import INFRA_ERRORS, RETRIED, participant_sync
from sync.runs import sync_all, sync_catch_up
from sync.strava import StravaRateLimited

PARTICIPANT_ATTEMPTS = 3


def _participant_rate(*_args: Any, **_kwargs: Any) -> tuple[str, str] | None:
    limit = settings.SYNC_PARTICIPANT_RATE_LIMIT
    return ("sync.participant", limit) if limit else None


@job(
    queue="sync",
    max_attempts=3,
    backoff=(2, 300),
    retry_on=INFRA_ERRORS,
    unique_for=3600,
    unique_on=("participant_ids",),
)
def sync_all_task(participant_ids: list[int] | None = None, trigger: str = "manual") -> dict:
    """The nightly sync, its catch-up and every manual run: one unique job for an hour, so a
    manual run during the nightly one gets the nightly one's id and runs nothing."""
    ctx = current_job()
    job_id = ctx.job_id if ctx else str(uuid.uuid4())
    return sync_all(job_id=job_id, trigger=trigger, participant_ids=participant_ids)


@job(
    queue="sync",
    max_attempts=PARTICIPANT_ATTEMPTS,
    backoff=(2, 300),
    retry_on=RETRIED,
    unique_for=3600,
    unique_on=("participant_id",),
    rate_limit=_participant_rate,
)
def sync_participant_task(run_id: int, participant_id: int) -> dict:
    """One participant of a run. Strava's rate limit is waited out with Snooze (the worker slot
    is freed and the wait is not an attempt); outages are retried with backoff."""
    ctx = current_job()
    try:
        outcome = participant_sync(
            run=SyncRun.objects.get(pk=run_id),
            participant=Participant.objects.get(pk=participant_id),
            attempt=ctx.attempt if ctx else 1,
            final=ctx.is_final if ctx else True,
        )
    except StravaRateLimited as exc:
        raise Snooze(exc.retry_after, reason="strava rate limit") from None
    return {
        "state": outcome.state,
        "fetched": outcome.fetched,
        "created": outcome.created,
        "updated": outcome.updated,
        "invalid": outcome.invalid,
    }


@job(queue="sync", unique_for=60)
def sync_catch_up_task() -> str | None:
    """Every few minutes: start the current day's sync if its slot passed without one."""
    return sync_catch_up()

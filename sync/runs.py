"""Sync runs: which local day a run is for, starting one, fanning out, finishing, catching up.

The day a run belongs to is the local date (the nightly crontab's time zone) of the latest
nightly slot at or before the run's start. `SyncRun.local_date` is unique, so whichever of the
nightly run, the catch-up check or a manual full run claims a day first is its only run.
"""

from __future__ import annotations

import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from sync.models import (
    FINAL_OUTCOMES,
    OutcomeState,
    Participant,
    SyncOutcome,
    SyncRun,
    SyncRunState,
    SyncTrigger,
)

logger = logging.getLogger("sync")
NIGHTLY = "sync.nightly"
# A nightly job that starts a moment before its slot on a worker whose clock runs behind beat's
# still belongs to the new day.
SCHEDULED_LOOKAHEAD = timedelta(minutes=2)


@dataclass(frozen=True)
class Slot:
    at: datetime  # the latest nightly time at or before `now`, aware
    local_date: date
    enabled: bool  # the nightly beat entry exists and is switched on


def sync_slot(*, now: datetime | None = None) -> Slot:
    """The nightly slot `now` falls after, read from the beat row so an operator's re-timing
    (a different hour, another time zone) is what counts; a non-daily crontab means midnight."""
    from django_celery_beat.models import PeriodicTask

    now = now or timezone.now()
    task = PeriodicTask.objects.select_related("crontab").filter(name=NIGHTLY).first()
    hour, minute, tzname = 0, 0, settings.SYNC_TIMEZONE
    if task is not None and task.crontab is not None:
        cron = task.crontab
        tzname = str(cron.timezone) or tzname
        if cron.hour.isdigit() and cron.minute.isdigit():
            hour, minute = int(cron.hour), int(cron.minute)
    tz = zoneinfo.ZoneInfo(tzname)
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    if at > now:
        at = datetime.combine(local.date() - timedelta(days=1), time(hour, minute), tzinfo=tz)
    enabled = bool(task and task.enabled)
    return Slot(at=at, local_date=at.date(), enabled=enabled)


def sync_run_begin(
    *, job_id: str, trigger: str, participant_ids: list[int] | None = None, now: datetime | None = None
) -> SyncRun | None:
    """Start (or, for a retried job, continue) a run; None when the day already has its run.

    Scheduled and catch-up runs claim the day or do nothing. A manual full run claims the day
    when it is still free (so the catch-up does not repeat it), else runs as an extra run.
    """
    existing = SyncRun.objects.filter(job_id=job_id).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    ids = sorted(set(participant_ids)) if participant_ids else None
    claims_day = trigger != SyncTrigger.MANUAL or ids is None
    fields: dict[str, Any] = {"job_id": job_id, "trigger": trigger, "participant_ids": ids, "started_at": now}
    if claims_day:
        at = now + SCHEDULED_LOOKAHEAD if trigger == SyncTrigger.SCHEDULED else now
        local_date = sync_slot(now=at).local_date
        try:
            with transaction.atomic():
                return SyncRun.objects.create(local_date=local_date, **fields)
        except IntegrityError:
            if trigger != SyncTrigger.MANUAL:
                logger.info(
                    "sync already ran for the day",
                    extra={"fields": {"local_date": str(local_date), "trigger": trigger, "job_id": job_id}},
                )
                return None
    return SyncRun.objects.create(local_date=None, **fields)


def sync_run_fan_out(*, run: SyncRun) -> SyncRun:
    """One outcome row and one unique job per participant; safe to repeat (a retry of the run
    enqueues only what the last attempt did not)."""
    from jobs import Job
    from sync.tasks import sync_participant_task

    qs = Participant.objects.filter(active=True)
    if run.participant_ids:
        qs = qs.filter(pk__in=run.participant_ids)
    total = 0
    for participant in qs.iterator():
        total += 1
        outcome, _ = SyncOutcome.objects.get_or_create(run=run, participant=participant)
        if outcome.job_id or outcome.state in FINAL_OUTCOMES:
            continue
        if participant.needs_reauth or not participant.refresh_token_encrypted:
            why = (
                "reconnect needed: Strava refused the tokens"
                if participant.needs_reauth
                else "no Strava tokens"
            )
            SyncOutcome.objects.filter(pk=outcome.pk).update(
                state=OutcomeState.SKIPPED, error=why, finished_at=timezone.now()
            )
            continue
        res = sync_participant_task.enqueue(run_id=run.pk, participant_id=participant.pk)
        SyncOutcome.objects.filter(pk=outcome.pk).update(job_id=res.job_id)
        # A duplicate from our own earlier attempt is ours; another run's job has this one.
        if res.duplicate and not Job.objects.filter(pk=res.job_id, kwargs__run_id=run.pk).exists():
            SyncOutcome.objects.filter(pk=outcome.pk, state=OutcomeState.PENDING).update(
                state=OutcomeState.SKIPPED,
                finished_at=timezone.now(),
                error=f"already being synced by job {res.job_id}",
            )
    SyncRun.objects.filter(pk=run.pk).update(participants_total=total, fanned_out_at=timezone.now())
    return sync_run_finish_if_done(run=run)


def sync_run_finish_if_done(*, run: SyncRun) -> SyncRun:
    """Close the run once fanned out and every participant is final; totals are recomputed
    each time, so a participant re-run later from the admin updates them."""
    run.refresh_from_db()
    outcomes = SyncOutcome.objects.filter(run=run)
    if run.fanned_out_at is None or outcomes.exclude(state__in=FINAL_OUTCOMES).exists():
        return run
    agg = outcomes.aggregate(
        total=Count("id"),
        ok=Count("id", filter=Q(state=OutcomeState.SUCCEEDED)),
        failed=Count("id", filter=Q(state=OutcomeState.FAILED)),
        skipped=Count("id", filter=Q(state=OutcomeState.SKIPPED)),
        fetched=Sum("fetched"),
        created=Sum("created"),
        updated=Sum("updated"),
        invalid=Sum("invalid"),
    )
    if agg["failed"] and not agg["ok"]:
        state = SyncRunState.FAILED
    elif agg["failed"]:
        state = SyncRunState.PARTIAL
    else:
        state = SyncRunState.SUCCEEDED
    SyncRun.objects.filter(pk=run.pk).update(
        state=state,
        finished_at=run.finished_at or timezone.now(),
        participants_total=agg["total"],
        participants_succeeded=agg["ok"],
        participants_failed=agg["failed"],
        participants_skipped=agg["skipped"],
        activities_fetched=agg["fetched"] or 0,
        activities_created=agg["created"] or 0,
        activities_updated=agg["updated"] or 0,
        activities_invalid=agg["invalid"] or 0,
    )
    run.refresh_from_db()
    if run.finished_at and state != SyncRunState.SUCCEEDED:
        logger.warning(
            "sync run finished with failures",
            extra={"fields": {"run_id": run.pk, "state": state, "failed": agg["failed"], "ok": agg["ok"]}},
        )
    return run


def sync_all(
    *, job_id: str, trigger: str = SyncTrigger.MANUAL, participant_ids: list[int] | None = None
) -> dict[str, Any]:
    """The body of the sync_all job: claim the run, fan out, say what happened (ids, counts)."""
    run = sync_run_begin(job_id=job_id, trigger=trigger, participant_ids=participant_ids)
    if run is None:
        return {"skipped": "the day already has its sync run"}
    run = sync_run_fan_out(run=run)
    return {
        "run_id": run.pk,
        "local_date": str(run.local_date) if run.local_date else None,
        "participants": run.participants_total,
    }


def sync_due(*, now: datetime | None = None) -> date | None:
    """The local day whose sync is missing, if the catch-up should start it now.

    Nothing is due while the nightly entry is off, during the grace period after a slot (beat
    fires it itself), when the day's run exists, or while a sync_all job is waiting or running.
    Only the latest slot counts: several missed nights make one run, not one per night.
    """
    from jobs import Job, JobState
    from sync.tasks import sync_all_task

    now = now or timezone.now()
    slot = sync_slot(now=now)
    if not slot.enabled or now < slot.at + timedelta(seconds=settings.SYNC_CATCH_UP_GRACE):
        return None
    if SyncRun.objects.filter(local_date=slot.local_date).exists():
        return None
    waiting = (JobState.QUEUED, JobState.SCHEDULED, JobState.STARTED, JobState.RETRYING)
    if Job.objects.filter(
        task=sync_all_task.name, state__in=waiting, enqueued_at__gte=now - timedelta(hours=1)
    ).exists():
        return None
    return slot.local_date


def sync_outcomes_reconcile() -> int:
    """Close outcomes whose job is over but which still say pending/running/retrying.

    The job body records every exception itself; this catches what no code can (a worker
    killed mid-job whose job was then failed or cancelled), so no run stays open for ever.
    """
    from jobs import FINISHED_STATES, Job

    open_outcomes = SyncOutcome.objects.exclude(state__in=FINAL_OUTCOMES).exclude(job_id="")
    job_ids = [j for j in open_outcomes.values_list("job_id", flat=True)[:1000] if _is_uuid(j)]
    done = {
        str(pk): state
        for pk, state in Job.objects.filter(pk__in=job_ids, state__in=FINISHED_STATES).values_list(
            "pk", "state"
        )
    }
    closed = 0
    for outcome in open_outcomes.filter(job_id__in=list(done)).select_related("run"):
        state = done[outcome.job_id]
        SyncOutcome.objects.filter(pk=outcome.pk).exclude(state__in=FINAL_OUTCOMES).update(
            state=OutcomeState.FAILED,
            finished_at=timezone.now(),
            error=f"job {outcome.job_id} ended ({state}) without recording this participant",
        )
        sync_run_finish_if_done(run=outcome.run)
        closed += 1
    if closed:
        logger.warning("sync outcomes closed after their jobs ended", extra={"fields": {"count": closed}})
    return closed


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def sync_catch_up(*, now: datetime | None = None) -> str | None:
    """Close what lost workers left open, then start the missed day's sync through the same
    unique job; returns its job id."""
    from sync.tasks import sync_all_task

    sync_outcomes_reconcile()
    day = sync_due(now=now)
    if day is None:
        return None
    res = sync_all_task.enqueue(trigger=SyncTrigger.CATCH_UP)
    logger.warning(
        "sync catch-up started",
        extra={"fields": {"local_date": str(day), "job_id": res.job_id, "duplicate": res.duplicate}},
    )
    return res.job_id

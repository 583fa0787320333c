"""What operators do to jobs: retry, cancel, prune, rescue, count."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs import history
from jobs.coordination import coordinator
from jobs.models import FINISHED_STATES, PENDING_STATES, Job, JobState
from jobs.task import DEFERRALS_HEADER

logger = logging.getLogger("jobs")


class JobActionError(Exception):
    """The action does not apply to this job (wrong state, filtered arguments …)."""


def job_retry(*, job: Job) -> str:
    """Run a failed job again as a new job; returns the new job's id."""
    if job.state != JobState.FAILED:
        raise JobActionError(f"job {job.id} is {job.state}, only failed jobs can be retried")
    if _filtered(job):
        raise JobActionError(f"job {job.id} has filtered arguments and cannot be re-run")
    task = current_app.tasks[job.task]
    return task.apply_async(job.args or [], job.kwargs or {}, queue=job.queue, retry_of=str(job.id)).id


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued or scheduled job: it will not start (a running one is not interrupted)."""
    if job.state not in (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING):
        raise JobActionError(f"job {job.id} is {job.state}, only waiting jobs can be cancelled")
    coordinator().cancel(str(job.id))
    current_app.control.revoke(str(job.id))
    Job.objects.filter(pk=job.pk).update(
        state=JobState.CANCELLED, finished_at=timezone.now(), seq=history.CANCELLED_SEQ
    )
    job.refresh_from_db()
    return job


def jobs_pending_count(queue: str | None = None) -> int:
    qs = Job.objects.filter(state__in=PENDING_STATES)
    return (qs.filter(queue=queue) if queue else qs).count()


def jobs_prune(*, now=None, batch: int | None = None) -> int:
    """Delete finished jobs and task results past their queue's age, a batch at a time."""
    now = now or timezone.now()
    batch = batch or settings.JOBS_PRUNE_BATCH
    default_days = settings.JOBS_PRUNE_AFTER_DAYS
    per_queue = settings.JOBS_PRUNE_AFTER_DAYS_BY_QUEUE
    deleted = 0
    plans = [(Job.objects.filter(queue=q), days) for q, days in per_queue.items()]
    plans.append((Job.objects.exclude(queue__in=list(per_queue)), default_days))
    for qs, days in plans:
        old = qs.filter(state__in=FINISHED_STATES, finished_at__lt=now - timedelta(days=days))
        deleted += _delete_in_batches(old, batch)
    results = TaskResult.objects.filter(date_done__lt=now - timedelta(days=default_days))
    deleted += _delete_in_batches(results, batch)
    return deleted


def _delete_in_batches(qs, batch: int) -> int:
    total = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            total += qs.model.objects.filter(pk__in=ids).delete()[0]


def jobs_rescue(*, now=None) -> list[str]:
    """Re-queue jobs that would otherwise wait forever.

    - started longer than rescue_after ago by a worker that no longer answers a ping;
    - scheduled for longer than rescue_after past their time but no longer in the scheduled set
      (Redis lost it, e.g. restarted without persistence).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOBS_RESCUE_AFTER)
    stuck = list(Job.objects.filter(state=JobState.STARTED, started_at__lt=cutoff)[:500])
    lost = [
        job
        for job in Job.objects.filter(state=JobState.SCHEDULED, scheduled_at__lt=cutoff)[:500]
        if not coordinator().is_scheduled(str(job.id))
    ]
    alive = _live_workers() if stuck else set()
    if alive is None:  # no answer from the broker: rescue nothing rather than guess
        return []
    rescued = []
    for job in stuck + lost:
        if job.state == JobState.STARTED and job.worker and job.worker in alive:
            continue
        if job.task not in current_app.tasks:
            continue
        if _filtered(job):
            # Its real arguments were never stored; a started one still comes back through the
            # broker's redelivery, a lost scheduled one cannot be re-created.
            if job.state == JobState.SCHEDULED:
                Job.objects.filter(pk=job.pk).update(
                    state=JobState.FAILED,
                    finished_at=now,
                    seq=history.CANCELLED_SEQ,
                    last_error="lost from the scheduled set; arguments filtered, cannot re-run",
                )
            continue
        _republish(job)
        rescued.append(str(job.id))
        logger.warning(
            "rescued job", extra={"fields": {"job_id": str(job.id), "task": job.task, "was": job.state}}
        )
    return rescued


def _filtered(job: Job) -> bool:
    return "[filtered]" in str(job.args) + str(job.kwargs)


def _republish(job: Job) -> None:
    """Same id and attempt: a dead holder's claim has lapsed, so the job runs once."""
    deferrals = job.deferrals + 1
    current_app.send_task(
        job.task,
        args=job.args or [],
        kwargs=job.kwargs or {},
        task_id=str(job.id),
        queue=job.queue,
        retries=job.attempt - 1,
        headers={DEFERRALS_HEADER: deferrals},
    )
    history.record_state(
        job_id=str(job.id),
        task=job.task,
        queue=job.queue,
        state=JobState.QUEUED,
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        deferrals=deferrals,
    )


def _live_workers() -> set[str] | None:
    try:
        replies = current_app.control.ping(timeout=1.0) or []
    except Exception:
        return None
    return {name for reply in replies for name in reply}

"""What operators do to jobs: retry, cancel, prune, rescue, count."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs import reconcile
from jobs.models import FINISHED_STATES, PENDING_STATES, Job, JobAttempt, JobState, Lease
from jobs.payload import PayloadError, payload_real

logger = logging.getLogger("jobs")


class JobActionError(Exception):
    """The action does not apply to this job (wrong state, arguments unreadable …)."""


def job_retry(*, job: Job) -> str:
    """Run a failed (or cancelled) job again as a new job, with its real arguments; returns the
    new job's id."""
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise JobActionError(f"job {job.id} is {job.state}, only failed or cancelled jobs can be retried")
    task: Any = current_app.tasks.get(job.task)
    if task is None:
        raise JobActionError(f"job {job.id}: task {job.task} is not known to this deployment")
    try:
        args, kwargs = payload_real(job.args, job.kwargs, job.secret_payload)
    except PayloadError as exc:
        raise JobActionError(f"job {job.id}: {exc}") from None
    result: Any = task.apply_async(tuple(args), kwargs, queue=job.queue, retry_of=str(job.id))
    return str(result.id)


def job_cancel(*, job: Job) -> Job:
    """Cancel a waiting job: it will not start (a running one is not interrupted). Its unique key
    is free at once, since uniqueness counts only jobs that are not cancelled."""
    updated = Job.objects.filter(pk=job.pk, state__in=PENDING_STATES).update(
        state=JobState.CANCELLED, finished_at=timezone.now()
    )
    if not updated:
        job.refresh_from_db()
        raise JobActionError(f"job {job.id} is {job.state}, only waiting jobs can be cancelled")
    current_app.control.revoke(str(job.id))
    job.refresh_from_db()
    return job


def jobs_pending_count(queue: str | None = None) -> int:
    qs = Job.objects.filter(state__in=PENDING_STATES)
    return (qs.filter(queue=queue) if queue else qs).count()


def jobs_prune(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Delete finished jobs (with their attempts) and task results past their queue's age, a batch
    at a time, and the single-machine mode's expired lease rows."""
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
    Lease.objects.filter(expires_at__lt=now.timestamp()).delete()
    return deleted


def _delete_in_batches(qs: QuerySet[Any], batch: int) -> int:
    total = 0
    while True:
        ids = list(qs.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            if qs.model is Job:
                JobAttempt.objects.filter(job_id__in=ids).delete()
            total += qs.model.objects.filter(pk__in=ids).delete()[0]


def jobs_rescue(*, now: datetime | None = None) -> list[str]:
    """Queue again what would otherwise wait forever (also run by every worker every few
    seconds): lapsed leases, unpublished and forgotten jobs. Returns the rescued started jobs."""
    rescued = reconcile.rescue(now)
    reconcile.relay(now)
    reconcile.reconcile(now)
    return rescued

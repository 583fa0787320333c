"""What an operator does to many jobs at once, from the console (jobs/admin.py).

job_retry and job_cancel live in jobs/services.py; here: discarding finished jobs, finding and
re-enqueueing lost ones, and the bulk forms of retry and cancel, each returning what it did so
the confirmation page and the message after it can say how many and what.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jobs import publish, sweeps
from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState, QueueControl
from jobs.services import JobActionError, job_cancel, job_retry

logger = logging.getLogger("jobs.operations")


@dataclass
class BulkResult:
    """How a bulk action went: done, skipped (with why) and per-task counts."""

    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self, verb: str) -> str:
        text = f"{len(self.done)} job(s) {verb}"
        if self.skipped:
            reasons = Counter(self.skipped.values()).most_common(3)
            text += f"; {len(self.skipped)} skipped (" + "; ".join(f"{n}: {why}" for why, n in reasons) + ")"
        return text + "."


def job_discard(*, job: Job) -> None:
    """Remove a finished job (failed, cancelled, succeeded) and its attempts from the history.

    Waiting or running jobs are refused: cancel those first, so nothing that may still run
    loses its row (the row is what decides whether a delivery runs).
    """
    if job.state not in FINISHED_STATES:
        raise JobActionError(f"job {job.id} is {job.state}: cancel it before discarding")
    with transaction.atomic():
        JobAttempt.objects.filter(job_id=job.pk).delete()
        Job.objects.filter(pk=job.pk, state__in=FINISHED_STATES).delete()
    logger.info("job discarded", extra={"fields": {"job_id": str(job.id), "task": job.task}})


def _each(
    jobs: QuerySet[Job] | list[Job], action: Callable[..., object], result_id: bool = False
) -> BulkResult:
    result = BulkResult()
    for job in jobs:
        try:
            value = action(job=job)
            result.done.append(str(value if result_id and isinstance(value, str) else job.id))
        except JobActionError as exc:
            result.skipped[str(job.id)] = str(exc).split(": ", 1)[-1].replace(str(job.id), "").strip()
        except Exception as exc:  # one broken job never stops the batch
            result.skipped[str(job.id)] = type(exc).__name__
    return result


def jobs_retry(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    """Retry each failed job as a new job (`retry_of` points back); others are skipped."""
    return _each(jobs, job_retry, result_id=True)


def jobs_cancel(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    """Cancel each waiting job; running and finished ones are skipped with the reason."""
    return _each(jobs, job_cancel)


def jobs_discard(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    return _each(jobs, job_discard)


def queue_normal_wait(queue: str, sample: int = 100) -> float:
    """How long this queue's jobs usually wait before they start: the median over its last
    `sample` starts (seconds; 0 when it has none)."""
    # The filter makes enqueued_at and started_at non-null; the stubs type each column by its field.
    rows = cast(
        "QuerySet[Job, tuple[datetime, datetime | None, datetime]]",
        Job.objects.filter(queue=queue, started_at__isnull=False, enqueued_at__isnull=False)
        .order_by("-enqueued_at")
        .values_list("enqueued_at", "scheduled_at", "started_at")[:sample],
    )
    waits = sorted(max((started - (due or enq)).total_seconds(), 0.0) for enq, due, started in rows)
    return waits[len(waits) // 2] if waits else 0.0


def lost_after(queue: str) -> float:
    """Far longer than the queue's normal wait: ten times it, and at least JOBS_LOST_AFTER."""
    return max(float(settings.JOBS_LOST_AFTER), 10 * queue_normal_wait(queue))


def lost_jobs(*, now: datetime | None = None, older_than: float | None = None) -> QuerySet[Job]:
    """Jobs waiting far longer than their queue's normal wait (`lost_after`): queued, or overdue
    scheduled / retrying, in queues that are not paused — a paused queue's jobs wait on purpose.
    These are what a broker that forgot leaves behind."""
    now = now or timezone.now()
    paused = set(QueueControl.objects.filter(paused=True).values_list("queue", flat=True))
    waiting_queues = set(
        Job.objects.filter(state__in=(JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING))
        .values_list("queue", flat=True)
        .distinct()
    )
    found = Q(pk__in=[])
    for queue in waiting_queues - paused:
        cutoff = now - timedelta(seconds=older_than if older_than is not None else lost_after(queue))
        found |= Q(queue=queue) & (
            Q(state=JobState.QUEUED, enqueued_at__lt=cutoff)
            | Q(state__in=(JobState.SCHEDULED, JobState.RETRYING), scheduled_at__lt=cutoff)
        )
    return Job.objects.filter(found).order_by("enqueued_at")


def jobs_reenqueue_lost(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    """Publish each lost job again under its own id, with its real arguments (the worker reads
    sensitive ones from the encrypted column). Run-once holds: a delivery runs only if it can
    claim the row, so a copy the broker still had, or a job that finished meanwhile, runs once."""
    result = BulkResult()
    wanted = {str(job.id): job for job in jobs}
    specs = sweeps.jobs_take_waiting(list(wanted), timezone.now())
    taken = {spec["id"] for spec in specs}
    for job_id, job in wanted.items():
        if job_id not in taken:
            job.refresh_from_db()
            result.skipped[job_id] = f"now {job.state}"
    for spec in specs:
        if spec["task"] not in current_app.tasks:
            result.skipped[spec["id"]] = "task not known to this deployment"
        elif publish.job_publish(spec):
            result.done.append(spec["id"])
            logger.warning(
                "lost job re-enqueued", extra={"fields": {"job_id": spec["id"], "task": spec["task"]}}
            )
        else:
            result.skipped[spec["id"]] = "broker did not take it: the relay publishes it when it answers"
    sweeps.jobs_unpublish([i for i in taken if i not in result.done])
    return result

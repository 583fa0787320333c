"""Lost jobs: waiting far longer than their queue's normal wait, which is what a broker that
forgot leaves behind. The dashboard's banner finds them; "re-enqueue lost" publishes them again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from celery import current_app
from django.db.models import Q, QuerySet

from jobs.broker import publish
from jobs.conf import conf
from jobs.console.actions import BulkResult
from jobs.models import Job, JobState, QueueControl
from jobs.table import clock, sweeps

logger = logging.getLogger("jobs.console")


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
    return max(float(conf().lost_after), 10 * queue_normal_wait(queue))


def lost_jobs(*, now: datetime | None = None, older_than: float | None = None) -> QuerySet[Job]:
    """Jobs waiting far longer than their queue's normal wait (`lost_after`): queued, or overdue
    scheduled / retrying, in queues that are not paused — a paused queue's jobs wait on purpose.
    These are what a broker that forgot leaves behind."""
    now = now or clock.db_now()
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
    specs = sweeps.jobs_take_waiting(list(wanted), clock.db_now())
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

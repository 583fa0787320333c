"""History that stays readable: the 5-second polls must neither bury real work nor fill the table.

The SES poll and the invoice poll run every 5 s each: about 34,000 rows a day, almost all of
which did nothing. A succeeded run of a @job(poll=True) task whose result says it did nothing
(None, 0, empty, or a dict whose counts are all zero) is kept JOBS_NOOP_KEEP_SECONDS (1 h: long
enough to see that polling is alive, which the dashboard and beat also show), then deleted by the
hourly prune. A poll that did work, failed or was retried is kept as long as any other job.
The admin list and the dashboard's charts leave succeeded polls out by default.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs.conf import conf
from jobs.core.registry import poll_tasks
from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState, Lease


def is_noop(result: Any) -> bool:
    """True when a poll's result says it handled nothing."""
    if result in (None, 0, "", [], {}, False):
        return True
    if isinstance(result, dict):  # counts; text values (a skip reason, a state) carry no work
        return all(isinstance(v, str) or v is None or is_noop(v) for v in result.values())
    return False


def jobs_prune_noop(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Delete succeeded no-op polls older than JOBS_NOOP_KEEP_SECONDS; returns how many.

    Walks the candidates oldest first in pages (keyset on finished_at, id), so a poll that did
    work is read once per prune and never blocks the ones after it.
    """
    now = now or timezone.now()
    batch = batch or conf().prune_batch
    cutoff = now - timedelta(seconds=conf().noop_keep_seconds)
    candidates = Job.objects.filter(
        task__in=poll_tasks(), state=JobState.SUCCEEDED, finished_at__lt=cutoff
    ).order_by("finished_at", "id")
    deleted, after = 0, None
    while True:
        page = candidates
        if after is not None:
            page = page.filter(finished_at__gte=after[0]).exclude(finished_at=after[0], id__lte=after[1])
        rows = list(page.values_list("id", "finished_at", "result")[:batch])
        if not rows:
            return deleted
        doomed = [pk for pk, _, result in rows if is_noop(result)]
        if doomed:
            with transaction.atomic():
                deleted += Job.objects.filter(pk__in=doomed).delete()[0]
        after = (rows[-1][1], rows[-1][0])


def jobs_prune(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Delete finished jobs (with their attempts) and task results past their queue's age, a batch
    at a time, and the single-machine mode's expired lease rows."""
    now = now or timezone.now()
    batch = batch or conf().prune_batch
    default_days = conf().prune_after_days
    per_queue = conf().prune_after_days_by_queue
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

"""History that stays readable: the 5-second polls must neither bury real work nor fill the table.

The SES poll and the invoice poll run every 5 s each: about 34,000 rows a day, almost all of
which did nothing. A succeeded run of a JOBS_POLL_TASKS task whose result says it did nothing
(None, 0, empty, or a dict whose counts are all zero) is kept JOBS_NOOP_KEEP_SECONDS (1 h: long
enough to see that polling is alive, which the dashboard and beat also show), then deleted by the
hourly prune. A poll that did work, failed or was retried is kept as long as any other job.
The admin list and the dashboard's charts leave succeeded polls out by default.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.models import Job, JobState


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
    batch = batch or settings.JOBS_PRUNE_BATCH
    cutoff = now - timedelta(seconds=settings.JOBS_NOOP_KEEP_SECONDS)
    candidates = Job.objects.filter(
        task__in=settings.JOBS_POLL_TASKS, state=JobState.SUCCEEDED, finished_at__lt=cutoff
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

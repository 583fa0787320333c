"""Per-type rate limits hold across two worker processes; jobs over the limit wait, none drop."""

from __future__ import annotations

import pytest

from jobs.models import Job, JobState
from queue_handlers.monitoring import get_processing_stats
from queue_handlers.services import enqueue_email
from tests.helpers import max_in_window, wait_for

pytestmark = pytest.mark.integration

N, PERIOD, JOBS = 5, 2.0, 20


def test_email_limit_holds_across_two_workers_and_every_job_completes(worker_process):
    env = {"HANDLER_RATE_LIMITS": f"email={N}/{PERIOD:g}s"}
    worker_process("qh1", queues=["handlers"], concurrency=3, **env)
    worker_process("qh2", queues=["handlers"], concurrency=3, **env)

    ids = [enqueue_email({"to": f"user{i}@example.com", "subject": f"Hello {i}"}).job_id for i in range(JOBS)]
    # While the burst drains, the stats see jobs waiting for their slot.
    wait_for(
        lambda: get_processing_stats()["types"]["email"]["waiting_for_rate_limit"] > 0,
        timeout=20,
        message="e-mails waiting for a rate-limit slot",
    )
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == JOBS,
        timeout=60,
        message=f"{JOBS} e-mails sent",
    )

    jobs = list(Job.objects.filter(pk__in=ids))
    assert all(j.attempt == 1 for j in jobs)  # waiting is not an attempt
    assert sum(1 for j in jobs if j.deferrals > 0) >= JOBS - 2 * N
    starts = [j.started_at.timestamp() for j in jobs]
    # The limiter counts starts on Redis's clock; started_at is written a few ms later, so the
    # window is shortened by 0.1 s to keep that skew from counting a slot twice.
    assert max_in_window(starts, PERIOD - 0.1) <= N
    # 20 jobs at 5 per 2 s cannot all start in less than 3 full periods.
    assert max(starts) - min(starts) >= 3 * PERIOD - 0.2
    workers = {j.worker.split("@")[0] for j in jobs}
    assert workers == {"qh1", "qh2"}
    stats = get_processing_stats()["types"]["email"]
    assert stats["succeeded"] == JOBS and stats["failed"] == 0
    assert stats["waiting_for_rate_limit"] == 0

"""Pause without the broadcast: a worker that missed it follows the database row by itself."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from jobs.models import Job, JobState, QueueControl
from tests.jobs.test_ops_support import OPS_IMPORTS, ops_quick_job


def wait_for(cond: Callable[[], object], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_missed_the_broadcast_follows_the_row_within_seconds(worker_process):
    w = worker_process(
        "q1", queues=["events"], concurrency=1, CELERY_EXTRA_IMPORTS=OPS_IMPORTS, JOBS_QUEUE_SYNC_EVERY="1"
    )
    QueueControl.objects.create(queue="events", paused=True)  # written directly: no broadcast
    assert wait_for(lambda: "Canceling queue events" in w.read_log(), timeout=10)
    held = ops_quick_job.enqueue(n=1).job_id
    time.sleep(2)
    assert Job.objects.get(pk=held).state == JobState.QUEUED

    QueueControl.objects.filter(queue="events").update(paused=False)
    assert wait_for(lambda: Job.objects.get(pk=held).state == JobState.SUCCEEDED, timeout=15)

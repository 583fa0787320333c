"""A rolling deploy: a worker that does not know a job's task sends its message back to the
broker; a worker that knows it runs it once. (Celery alone rejects such a message for good and
marks it failed, while the job's row still says `queued`.)"""

import time

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.helpers import wait_for
from tests.jobs.tasks import counted_job


@pytest.mark.integration
def test_an_old_worker_hands_an_unknown_job_back_and_a_new_one_runs_it_once(worker_process):
    old = worker_process("old", queues=["default"], concurrency=1, JOBS_REQUEUE_DELAY="0.2")
    job = counted_job.enqueue(n=7)
    wait_for(lambda: "does not know: back to the broker" in old.read_log(), timeout=20, message="handed back")
    time.sleep(1)  # it keeps going round while only the old worker consumes
    assert Job.objects.get(pk=job.job_id).state == JobState.QUEUED

    worker_process("new", queues=["default"], concurrency=1, CELERY_EXTRA_IMPORTS="tests.jobs.tasks")
    wait_for(lambda: Job.objects.get(pk=job.job_id).state == JobState.SUCCEEDED, timeout=30, message="ran")
    runs = redis.Redis.from_url(settings.REDIS_URL).lrange("test:counted_runs", 0, -1)
    assert runs == [b"7"]

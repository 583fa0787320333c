from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.helpers import wait_for
from tests.jobs.tasks import unique_job


@pytest.mark.django_db(transaction=True)
def test_200_enqueues_from_8_threads_run_once(celery_worker):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: unique_job.enqueue(n=7), range(200)))

    ids = {r.job_id for r in results}
    assert len(ids) == 1
    assert sum(not r.duplicate for r in results) == 1
    r = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: Job.objects.filter(state=JobState.SUCCEEDED).exists(), 20, message="run")
    assert r.lrange("test:unique_runs", 0, -1) == [b"7"]
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_other_arguments_are_another_job(celery_worker):
    a, b = unique_job.enqueue(n=1), unique_job.enqueue(n=2)
    assert a.job_id != b.job_id and not a.duplicate and not b.duplicate

"""Break things: kill a worker mid-job, fail jobs, retry them from the admin."""

import time

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobState
from tests.helpers import wait_for
from tests.jobs.tasks import flaky_job, slow_effect_job


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.mark.integration
def test_sigkilled_worker_job_completes_once_after_restart(worker_process):
    env = {
        "CELERY_EXTRA_IMPORTS": "tests.jobs.tasks",
        "BROKER_VISIBILITY_TIMEOUT": "8",
        "JOBS_LEASE_TTL": "3",
    }
    w = worker_process("victim", queues=["default"], concurrency=1, **env)
    job = slow_effect_job.enqueue(key="k", seconds=5)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.STARTED).exists(),
        timeout=20,
        message="job started",
    )
    time.sleep(1)
    w.kill()
    assert _redis().get("test:effect:k") is None  # died before its effect

    worker_process("rescuer", queues=["default"], concurrency=1, **env)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.SUCCEEDED).exists(),
        timeout=60,
        message="job completed after restart",
    )
    time.sleep(1)
    assert int(_redis().get("test:effect:k")) == 1


@pytest.mark.django_db(transaction=True)
def test_fails_twice_then_succeeds_with_growing_delays(celery_worker):
    job = flaky_job.enqueue(key="a", fail_times=2)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.SUCCEEDED).exists(),
        timeout=30,
        message="success on the third attempt",
    )
    row = Job.objects.get(pk=job.job_id)
    assert row.attempt == 3
    assert "transient failure 2" in row.last_error
    times = [float(t) for t in _redis().lrange("test:flaky_times:a", 0, -1)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 2 and gaps[0] >= 0.25 and gaps[1] > gaps[0] * 0.9


@pytest.mark.django_db(transaction=True)
def test_always_failing_job_fails_after_max_attempts_and_admin_retry_runs_it(celery_worker, admin_client):
    job = flaky_job.enqueue(key="b", fail_times=3)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.FAILED).exists(),
        timeout=30,
        message="failed after max attempts",
    )
    row = Job.objects.get(pk=job.job_id)
    assert row.attempt == 3 and "transient failure 3" in row.last_error
    assert int(_redis().get("test:flaky:b")) == 3

    # The bulk action first shows a confirmation page (issue 13), then acts on "confirm".
    selection = {"action": "retry_jobs", "_selected_action": [str(row.pk)]}
    assert "<strong>1</strong> job(s)" in admin_client.post("/admin/jobs/job/", selection).content.decode()
    response = admin_client.post("/admin/jobs/job/", {**selection, "confirm": "yes"})
    assert response.status_code == 302
    wait_for(
        lambda: Job.objects.filter(retry_of=row.pk, state=JobState.SUCCEEDED).exists(),
        timeout=30,
        message="the retried job ran and succeeded",
    )
    assert int(_redis().get("test:flaky:b")) == 4


@pytest.mark.django_db(transaction=True)
def test_rescue_requeues_jobs_stuck_in_started_whose_worker_is_gone(celery_worker):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from jobs.services import jobs_rescue

    long_ago = timezone.now() - timedelta(hours=1)
    orphan = Job.objects.create(
        id=uuid.uuid4(),
        task="tests.jobs.tasks.slow_effect_job",
        queue="default",
        state=JobState.STARTED,
        attempt=1,
        max_attempts=1,
        args=[],
        kwargs={"key": "orphan", "seconds": 0},
        started_at=long_ago,
        enqueued_at=long_ago,
        worker="gone@nowhere",
        seq=1_000_002,
    )
    recent = Job.objects.create(
        id=uuid.uuid4(),
        task="tests.jobs.tasks.slow_effect_job",
        queue="default",
        state=JobState.STARTED,
        attempt=1,
        max_attempts=1,
        args=[],
        kwargs={"key": "recent", "seconds": 0},
        started_at=timezone.now(),
        enqueued_at=timezone.now(),
        worker="gone@nowhere",
        seq=1_000_002,
    )

    rescued = jobs_rescue()

    assert rescued == [str(orphan.pk)]
    wait_for(
        lambda: Job.objects.filter(pk=orphan.pk, state=JobState.SUCCEEDED).exists(),
        timeout=20,
        message="rescued job completed",
    )
    assert int(_redis().get("test:effect:orphan")) == 1
    assert Job.objects.get(pk=recent.pk).state == JobState.STARTED


@pytest.mark.django_db(transaction=True)
def test_rescue_requeues_scheduled_jobs_that_redis_lost(celery_worker):
    from datetime import timedelta

    from django.utils import timezone

    from jobs.services import jobs_rescue

    kept = slow_effect_job.enqueue(key="kept", seconds=0, countdown=3600)
    lost = slow_effect_job.enqueue(key="lost", seconds=0, countdown=3600)
    _redis().zrem("jobs:scheduled", lost.job_id)  # as if Redis restarted without persistence
    long_ago = timezone.now() - timedelta(hours=2)
    Job.objects.filter(pk__in=[kept.job_id, lost.job_id]).update(scheduled_at=long_ago)

    assert jobs_rescue() == [lost.job_id]
    wait_for(
        lambda: Job.objects.filter(pk=lost.job_id, state=JobState.SUCCEEDED).exists(),
        timeout=20,
        message="lost scheduled job ran",
    )
    assert Job.objects.get(pk=kept.job_id).state == JobState.SCHEDULED

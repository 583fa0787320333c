"""Break things: kill a worker mid-job, fail jobs, retry them from the admin."""

import time

import pytest
import redis
from django.conf import settings

from jobs.models import Job, JobAttempt, JobState
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


@pytest.mark.integration
def test_a_failed_jobs_attempts_are_written_before_its_state_says_failed(worker_process):
    # history flushes only every 30 s here: the failure path must not wait for it
    worker_process(
        "att",
        queues=["default"],
        concurrency=1,
        CELERY_EXTRA_IMPORTS="tests.jobs.tasks",
        JOBS_HISTORY_FLUSH_INTERVAL="30",
    )
    job = flaky_job.enqueue(key="attempts-first", fail_times=5)  # 3 attempts, all failing
    states = []

    def failed() -> bool:
        row = Job.objects.get(pk=job.job_id)
        attempts = JobAttempt.objects.filter(job_id=job.job_id).count()
        states.append((row.state, row.attempt, attempts))
        return row.state == JobState.FAILED

    wait_for(failed, timeout=60, message="failed for good")
    outcomes = list(
        JobAttempt.objects.filter(job_id=job.job_id).order_by("attempt").values_list("outcome", flat=True)
    )
    assert outcomes == ["retrying", "retrying", "failed"]
    # whenever the row said retrying or failed, its attempt row was already there
    assert all(n >= attempt for state, attempt, n in states if state in (JobState.RETRYING, JobState.FAILED))


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
    # Retry is the job's own (Oban's retry_job): the same row runs again, its budget raised by one.
    wait_for(
        lambda: Job.objects.filter(pk=row.pk, state=JobState.SUCCEEDED).exists(),
        timeout=30,
        message="the retried job ran and succeeded",
    )
    assert int(_redis().get("test:flaky:b")) == 4
    again = Job.objects.get(pk=row.pk)
    assert (again.attempt, again.max_attempts) == (4, 4) and Job.objects.filter(retry_of=row.pk).count() == 0


@pytest.mark.django_db(transaction=True)
def test_rescue_requeues_started_jobs_whose_lease_lapsed_and_leaves_live_ones(celery_worker, settings):
    from datetime import timedelta

    from django.utils import timezone

    from jobs.plugins.lifeline import jobs_rescue

    settings.JOBS_RESCUE_AFTER = 5
    orphan = slow_effect_job.enqueue(key="orphan", seconds=0, countdown=3600)
    live = slow_effect_job.enqueue(key="live", seconds=0, countdown=3600)
    now = timezone.now()
    # Both "started" by a worker that shares a host name with a live one: only the lease counts.
    Job.objects.filter(pk=orphan.job_id).update(
        state=JobState.STARTED,
        attempt=1,
        worker="w1@vm",
        lease_token="dead",
        lease_expires_at=now - timedelta(seconds=30),
    )
    Job.objects.filter(pk=live.job_id).update(
        state=JobState.STARTED,
        attempt=1,
        worker="w1@vm",
        lease_token="alive",
        lease_expires_at=now + timedelta(seconds=30),
    )

    jobs_rescue()  # (or the worker's own sweep, whichever comes first)

    wait_for(
        lambda: Job.objects.filter(pk=orphan.job_id, state=JobState.SUCCEEDED).exists(),
        timeout=20,
        message="rescued job completed",
    )
    assert int(_redis().get("test:effect:orphan")) == 1
    assert Job.objects.get(pk=live.job_id).state == JobState.STARTED
    outcomes = list(JobAttempt.objects.filter(job_id=orphan.job_id).values_list("outcome", flat=True))
    assert outcomes == ["lost", "succeeded"]

"""The console's receivers with real components: metrics fed by a real worker's telemetry, the
catch-up run when beat starts, and a job's page linking the records that name it."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.plugins.cron import run_at_beat_start


@pytest.mark.django_db(transaction=True)
def test_metrics_count_what_a_real_worker_ran(celery_worker, admin_client):
    from tests.jobs.tasks import flaky_job, noop_job

    ok = noop_job.enqueue()
    bad = flaky_job.enqueue(key=str(uuid.uuid4()), fail_times=9)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = set(Job.objects.filter(pk__in=[ok.job_id, bad.job_id]).values_list("state", flat=True))
        if states == {JobState.SUCCEEDED, JobState.FAILED}:
            break
        time.sleep(0.2)
    text = admin_client.get("/metrics").content.decode()
    assert (
        'jobs_duration_seconds_count{outcome="succeeded",queue="default",task="tests.jobs.tasks.noop_job"}'
        in text
    )
    assert 'jobs_failures_total{outcome="retrying",queue="default",task="tests.jobs.tasks.flaky_job"}' in text
    assert 'jobs_failures_total{outcome="failed",queue="default",task="tests.jobs.tasks.flaky_job"}' in text
    assert bad.job_id not in text and "fail_times" not in text  # labels are names, never ids or args


@pytest.mark.django_db
def test_beat_start_runs_the_sync_catch_up_at_once():
    call_command("setup_schedules", verbosity=0)
    assert run_at_beat_start() == ["sync.catch_up"]
    assert Job.objects.filter(task="sync.tasks.sync_catch_up_task").exists()


@pytest.mark.django_db
def test_a_jobs_page_links_the_sync_run_that_names_it(admin_client):
    from sync.runs import sync_run_begin

    job = Job.objects.create(
        task="sync.tasks.sync_all_task", queue="sync", state=JobState.SUCCEEDED, enqueued_at=timezone.now()
    )
    run = sync_run_begin(job_id=str(job.id), trigger="manual")
    page = admin_client.get(f"/admin/jobs/job/{job.id}/change/").content.decode()
    assert f"/admin/sync/syncrun/{run.pk}/change/" in page

"""The console's services and pages through the Django test client (the browser tests drive the
same pages in Chromium): bulk actions with confirmation, discard, queue controls, lost jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.console.actions import JobActionError, job_discard
from jobs.console.lost import lost_jobs
from jobs.console.queues import QueueError, queue_limit_set, queue_pause, queue_resume
from jobs.models import Job, JobAttempt, JobState, QueueControl

pytestmark = pytest.mark.django_db


def make(state: str, task: str = "tests.jobs.tasks.noop_job", queue: str = "default", **kw) -> Job:
    return Job.objects.create(task=task, queue=queue, state=state, enqueued_at=timezone.now(), **kw)


def test_bulk_cancel_shows_how_many_and_what_before_it_acts(admin_client):
    waiting = [make(JobState.QUEUED) for _ in range(3)]
    done = make(JobState.SUCCEEDED)
    ids = [str(j.id) for j in [*waiting, done]]
    page = admin_client.post(
        "/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": ids, "index": 0}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>3</strong> job(s)" in text and "1 other selected job(s)" in text
    assert Job.objects.filter(state=JobState.CANCELLED).count() == 0  # nothing happened yet

    admin_client.post(
        "/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": ids, "index": 0, "confirm": "yes"}
    )
    assert Job.objects.filter(state=JobState.CANCELLED).count() == 3
    assert Job.objects.get(pk=done.pk).state == JobState.SUCCEEDED


def test_discard_removes_finished_jobs_only():
    failed = make(JobState.FAILED, last_error="boom")
    JobAttempt.objects.create(job=failed, attempt=1, started_at=timezone.now(), outcome="failed")
    job_discard(job=failed)
    assert not Job.objects.filter(pk=failed.pk).exists()
    assert not JobAttempt.objects.filter(job_id=failed.pk).exists()
    with pytest.raises(JobActionError, match="cancel it before discarding"):
        job_discard(job=make(JobState.QUEUED))


def test_the_job_list_hides_noop_polls_and_internal_columns(admin_client, settings):
    settings.JOBS_POLL_TASKS = ["emails.tasks.sqs_poll_task"]
    make(JobState.SUCCEEDED, task="emails.tasks.sqs_poll_task", queue="sqs_polling")
    real = make(JobState.FAILED, task="tests.jobs.tasks.flaky_job", last_error="ConnectionError: x")
    text = admin_client.get("/admin/jobs/job/").content.decode()
    assert text.count('<td class="field-queue">') == 1  # one row: the failed job
    assert '<td class="field-queue">sqs_polling' not in text
    assert "Seq" not in text and "lease" not in text.lower()
    everything = admin_client.get("/admin/jobs/job/?show=all").content.decode()
    assert everything.count('<td class="field-queue">') == 2
    page = admin_client.get(f"/admin/jobs/job/{real.pk}/change/").content.decode()
    assert "ConnectionError: x" in page and 'id="retry"' in page and "secret_payload" not in page


def test_queue_controls_are_stored_and_checked():
    queue_pause(queue="events")
    assert QueueControl.objects.get(queue="events").paused
    queue_limit_set(queue="events", limit=2)
    queue_resume(queue="events")
    control = QueueControl.objects.get(queue="events")
    assert (control.paused, control.global_limit) == (False, 2)
    with pytest.raises(QueueError, match="unknown queue"):
        queue_pause(queue="nope")
    with pytest.raises(QueueError, match="at least 1"):
        queue_limit_set(queue="events", limit=0)


def test_lost_jobs_are_old_waiting_ones_outside_paused_queues(settings):
    settings.JOBS_LOST_AFTER = 60
    old = timezone.now() - timedelta(minutes=10)
    lost = make(JobState.QUEUED, queue="default")
    Job.objects.filter(pk=lost.pk).update(enqueued_at=old)
    fresh = make(JobState.QUEUED, queue="default")
    behind_pause = make(JobState.QUEUED, queue="events")
    Job.objects.filter(pk=behind_pause.pk).update(enqueued_at=old)
    queue_pause(queue="events")
    found = set(lost_jobs().values_list("pk", flat=True))
    assert lost.pk in found and fresh.pk not in found and behind_pause.pk not in found


def test_dashboard_needs_a_login_and_shows_queues(client, admin_client):
    assert client.get("/admin/jobs/job/dashboard/").status_code == 302
    make(JobState.QUEUED, queue="events")
    queue_pause(queue="events")
    text = admin_client.get("/admin/jobs/job/dashboard/").content.decode()
    assert 'id="queue-events"' in text and "paused" in text and "1 waiting behind it" in text
    assert "<svg" in text


def test_a_queue_that_normally_waits_long_is_judged_by_its_own_normal_wait(settings):
    settings.JOBS_LOST_AFTER = 60
    now = timezone.now()
    for _ in range(5):  # sync jobs usually wait 20 minutes for their turn
        done = make(JobState.SUCCEEDED, queue="sync")
        Job.objects.filter(pk=done.pk).update(
            enqueued_at=now - timedelta(hours=2), started_at=now - timedelta(hours=2) + timedelta(minutes=20)
        )
    slow_but_normal = make(JobState.QUEUED, queue="sync")
    Job.objects.filter(pk=slow_but_normal.pk).update(enqueued_at=now - timedelta(minutes=30))
    stuck = make(JobState.QUEUED, queue="default")
    Job.objects.filter(pk=stuck.pk).update(enqueued_at=now - timedelta(minutes=30))
    found = set(lost_jobs().values_list("pk", flat=True))
    assert stuck.pk in found and slow_but_normal.pk not in found

"""Handler jobs say what they are (issue 19): `handler:webhook` in the job list, the dashboard
and search, not the dispatcher's task name; and webhooks without a signing secret are a
readiness failure once they are in use (a warning before)."""

from __future__ import annotations

import pytest
from django.utils import formats, timezone

from jobs.models import Job, JobState
from jobs.observe.health import run_checks
from queue_handlers.services import enqueue_job

pytestmark = pytest.mark.django_db


def enqueue(payload: dict, **kw):
    return enqueue_job("webhook", {"url": "http://127.0.0.1:9/hook", "payload": payload}, **kw)


@pytest.fixture
def webhook_job(webhook_settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return enqueue({"n": 1})


def test_a_handler_job_is_named_by_its_type_in_the_list_and_search(admin_client, webhook_job):
    job = Job.objects.get(pk=webhook_job.job_id)
    assert job.display_name == "handler:webhook"
    assert job.task == "queue_handlers.tasks.handler_job_task"

    listed = admin_client.get("/admin/jobs/job/").content.decode()
    assert "handler:webhook" in listed

    for term in ("webhook", str(job.id)[:8], str(job.id)):
        found = admin_client.get("/admin/jobs/job/", {"q": term}).content.decode()
        assert str(job.id)[:8] in found, term
    missing = admin_client.get("/admin/jobs/job/", {"q": "ffff0000"}).content.decode()
    assert str(job.id)[:8] not in missing


def test_the_list_shows_the_error_and_when_a_job_is_scheduled_for(
    admin_client, webhook_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        later = enqueue({}, countdown=3600)
    Job.objects.filter(pk=later.job_id).update(last_error="ConnectionRefusedError: the receiver is down")
    text = admin_client.get("/admin/jobs/job/").content.decode()
    assert "column-scheduled_for" in text and "Scheduled for" in text
    assert "column-error" in text
    assert "ConnectionRefusedError: the receiver is down" in text
    scheduled = Job.objects.get(pk=later.job_id).scheduled_at
    assert scheduled is not None and formats.localize(timezone.template_localtime(scheduled)) in text


def test_the_dashboard_names_handler_jobs_in_running_now_and_most_failing(admin_client, webhook_job):
    now = timezone.now()
    Job.objects.filter(pk=webhook_job.job_id).update(
        state=JobState.STARTED,
        started_at=now,
        worker="w@h",
        lease_expires_at=now + timezone.timedelta(seconds=30),
    )
    Job.objects.create(
        task="queue_handlers.tasks.handler_job_task",
        display_name="handler:email",
        queue="handlers",
        state=JobState.FAILED,
        enqueued_at=now,
        started_at=now,
        finished_at=now,
    )
    page = admin_client.get("/admin/jobs/job/dashboard/?refresh=0").content.decode()
    running = page.split('id="running"')[1].split("</div>")[0]
    failing = page.split('id="failing"')[1].split("</div>")[0]
    assert "handler:webhook" in running and "handler_job_task" not in running
    assert "handler:email" in failing and "handler_job_task" not in failing


def test_webhooks_in_use_without_a_signing_secret_fail_readiness(settings, webhook_job):
    settings.WEBHOOK_SIGNING_SECRET = ""
    _ok, report = run_checks(["handlers"])
    handlers = report["checks"]["handlers"]
    assert handlers["status"] == "failing"
    assert "WEBHOOK_SIGNING_SECRET is not set" in handlers["error"]
    assert 'section "Handler jobs fail"' in handlers["fix"]


def test_no_signing_secret_and_no_webhook_yet_is_only_a_warning(settings):
    settings.WEBHOOK_SIGNING_SECRET = ""
    ok, report = run_checks(["handlers"])
    assert ok and report["checks"]["handlers"]["status"] == "warning"
    assert "WEBHOOK_SIGNING_SECRET" in report["checks"]["handlers"]["warning"]

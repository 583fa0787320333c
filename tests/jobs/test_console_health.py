"""Readiness that is right (warnings vs failures, a reason and a documented fix for every
failure), the dashboard's verdict, and the console's security findings of issue 19."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from jobs.models import Heartbeat, Job, JobState
from jobs.observe import health
from jobs.observe.dashboard import running
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r'docs/OPERATIONS\.md, section "([^"]+)"')


@pytest.fixture(autouse=True)
def _fresh_report():
    health.readiness_reset()
    yield
    health.readiness_reset()


def _headings() -> set[str]:
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    return {line[3:].strip() for line in text.splitlines() if line.startswith("## ")}


@pytest.mark.django_db
def test_every_fix_names_a_section_that_docs_operations_has(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: broker down
    settings.SLACK_SIGNING_SECRET = ""
    _ok, report = health.run_checks()
    names = set(report["checks"]) | set(health._extra)
    assert {"broker", "workers", "beat", "pii", "sync", "handlers"} <= names
    headings = _headings()
    for name in names:
        fix = health.fix_for(name)
        sections = SECTION.findall(fix)
        assert sections and set(sections) <= headings, (name, fix)
    for name, section in report["checks"].items():
        if section["status"] != "ok":
            assert set(SECTION.findall(section["fix"])) <= headings, (name, section["fix"])
            assert SECTION.findall(section["fix"]), (name, section)


@pytest.mark.django_db
def test_a_failing_section_carries_its_reason_never_the_placeholder_beside_one(settings):
    from sync.models import SyncRun, SyncTrigger
    from sync.runs import sync_slot

    settings.SYNC_HEALTH_MAX_RUN_HOURS = 1
    slot = sync_slot(now=timezone.now())
    SyncRun.objects.create(
        local_date=slot.local_date,
        trigger=SyncTrigger.SCHEDULED,
        job_id="j-open",
        started_at=timezone.now() - timedelta(hours=3),
    )
    _ok, report = health.run_checks(["sync"])
    sync = report["checks"]["sync"]
    assert sync["status"] == "failing"
    assert "still unfinished after 3.0 h" in sync["error"]
    assert health.NO_REASON not in str(report)


@pytest.mark.django_db(transaction=True)
def test_a_fresh_start_is_green_or_warnings_only(celery_worker, settings):
    """`make run` on a new machine: no Slack, no Strava, no webhook secret, one participant, no
    sync run yet. Nothing is configured-and-broken, so nothing may fail."""
    from sync.models import Participant

    settings.SLACK_SIGNING_SECRET = settings.SLACK_BOT_TOKEN = settings.SLACK_USER_TOKEN = ""
    settings.STRAVA_CLIENT_ID = settings.STRAVA_CLIENT_SECRET = ""
    settings.WEBHOOK_SIGNING_SECRET = ""
    settings.QUEUE_PROVIDER = "celery"
    Heartbeat.objects.create(name="beat", at=timezone.now())
    Participant.objects.create(name="first", athlete_id=1)
    ok, report = health.run_checks()
    assert ok, {n: s.get("error") for n, s in report["checks"].items() if s["status"] == "failing"}
    assert report["status"] in ("ok", "warning")
    assert report["checks"]["pii"]["status"] == "warning"
    assert "not configured" in report["checks"]["pii"]["warning"]
    assert report["checks"]["sync"]["status"] == "warning"  # Strava not set: a warning
    assert report["checks"]["consumers"]["status"] == "ok"
    assert report["checks"]["consumers"]["queues"]["events"]["workers"]


@pytest.mark.django_db
def test_readiness_and_metrics_need_the_view_permission_not_just_staff(django_user_model):
    staff = django_user_model.objects.create_user("staffer", password="pw-staff-123", is_staff=True)
    client = Client()
    client.force_login(staff)
    for url in ("/healthz/ready", "/metrics"):
        assert client.get(url).status_code == 401, url
    staff.user_permissions.add(Permission.objects.get(codename="view_job", content_type__app_label="jobs"))
    client.force_login(django_user_model.objects.get(pk=staff.pk))
    assert client.get("/metrics").status_code == 200
    assert client.get("/healthz/ready").status_code in (200, 503)


@pytest.mark.django_db
def test_the_refresh_parameter_cannot_redirect_anywhere(admin_client):
    page = admin_client.get("/admin/jobs/job/dashboard/", {"refresh": "0;url=https://evil.example/"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "evil.example" not in text
    assert '<meta http-equiv="refresh" content="10">' in text
    posted = admin_client.post(
        "/admin/jobs/job/queue/events/?refresh=0;url=//evil.example", {"do": "nothing"}
    )
    assert posted.status_code == 302 and "evil" not in posted["Location"]


@pytest.mark.django_db
def test_a_queue_name_with_a_slash_is_refused_at_enqueue_and_never_breaks_the_dashboard(admin_client):
    from jobs.core.task import UnknownQueue
    from tests.jobs.tasks import noop_job

    with pytest.raises(UnknownQueue, match="unknown queue 'a/b'; declared queues are default"):
        noop_job.apply_async(queue="a/b")
    assert not Job.objects.filter(queue="a/b").exists()
    # A row that got in some other way (an adopted plain send_task, an old row) still renders.
    Job.objects.create(task="x.y", queue="a/b", state=JobState.QUEUED, enqueued_at=timezone.now())
    page = admin_client.get("/admin/jobs/job/dashboard/?refresh=0")
    assert page.status_code == 200
    assert "not a declared queue" in page.content.decode()


@pytest.mark.django_db
def test_running_now_drops_a_dead_workers_jobs_once_their_lease_lapsed():
    now = timezone.now()
    common = {"task": "t.x", "queue": "default", "state": JobState.STARTED, "started_at": now}
    Job.objects.create(worker="alive@h", lease_expires_at=now + timedelta(seconds=20), **common)
    Job.objects.create(worker="dead@h", lease_expires_at=now - timedelta(seconds=1), **common)
    shown = running(now=now)
    assert [w["worker"] for w in shown["per_worker"]] == ["alive@h"]
    assert len(shown["jobs"]) == 1


@pytest.mark.django_db
def test_the_banner_says_down_with_the_brokers_reason_and_fix(admin_client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    verdict = admin_client.get("/admin/jobs/job/health.json").json()
    assert verdict["level"] == "down"
    broker = next(i for i in verdict["items"] if i["check"] == "broker")
    assert broker["status"] == "failing" and broker["reason"]
    assert "start Redis" in broker["fix"] and 'section "The broker does not answer"' in broker["fix"]
    page = admin_client.get("/admin/jobs/job/dashboard/?refresh=0").content.decode()
    assert 'id="verdict"' in page and 'data-level="down"' in page and "Down: jobs cannot run" in page
    assert Client().get("/admin/jobs/job/health.json").status_code == 302  # login first


def test_the_broker_check_answers_for_rabbitmq_as_well_as_redis():
    """A deployment on RabbitMQ: its connection is the answer (there is no Redis PING to send)."""
    from celery import current_app

    from tests.jobs.chaos import RABBITMQ

    before = current_app.conf.broker_url
    current_app.conf.broker_url = RABBITMQ
    try:
        report = health.check_broker()
    finally:
        current_app.conf.broker_url = before
    assert report["ok"] and report["mode"] == "amqp", report
    assert health.check_broker()["mode"] == "redis"

"""What an operator sees and edits: the beat rows across deploys, pruning, admin, health."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Job, JobState
from jobs.plugins.cron import ensure_schedules
from jobs.plugins.pruner import jobs_prune
from sync.health import check_sync
from sync.models import SyncRun, SyncTrigger

pytestmark = pytest.mark.django_db
WAW = zoneinfo.ZoneInfo("Europe/Warsaw")


def test_nightly_entry_is_midnight_warsaw_on_the_sync_queue():
    ensure_schedules()
    task = PeriodicTask.objects.get(name="sync.nightly")
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "0",
        "*",
        "*",
        "*",
    )
    assert str(cron.timezone) == "Europe/Warsaw"
    assert (task.task, task.queue, task.enabled) == ("sync.tasks.sync_all_task", "sync", True)
    assert task.kwargs == '{"trigger": "scheduled"}'
    catch_up = PeriodicTask.objects.get(name="sync.catch_up")
    assert catch_up.interval.every == 300 and catch_up.task == "sync.tasks.sync_catch_up_task"


def test_a_redeploy_keeps_an_operators_edit():
    ensure_schedules()
    three_am, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Europe/Warsaw"
    )
    PeriodicTask.objects.filter(name="sync.nightly").update(crontab=three_am, enabled=False)

    call_command("setup_schedules", stdout=open("/dev/null", "w"))
    call_command("migrate", verbosity=0, interactive=False)

    task = PeriodicTask.objects.get(name="sync.nightly")
    assert (task.crontab_id, task.enabled) == (three_am.pk, False)
    assert PeriodicTask.objects.filter(name="sync.nightly").count() == 1


def test_a_deleted_entry_comes_back_on_deploy():
    ensure_schedules()
    PeriodicTask.objects.filter(name="sync.nightly").delete()
    call_command("setup_schedules", stdout=open("/dev/null", "w"))
    assert PeriodicTask.objects.get(name="sync.nightly").enabled


def _job(queue: str, days_ago: float, state: str = JobState.SUCCEEDED) -> Job:
    at = timezone.now() - timedelta(days=days_ago)
    return Job.objects.create(
        task=f"{queue}.tasks.x", queue=queue, state=state, enqueued_at=at, finished_at=at
    )


def test_sync_job_records_are_kept_60_days_others_by_the_default(settings):
    assert settings.JOBS_PRUNE_AFTER_DAYS_BY_QUEUE["sync"] == 60
    settings.JOBS_PRUNE_AFTER_DAYS = 7
    sync_30, sync_59 = _job("sync", 30), _job("sync", 59)
    sync_61 = _job("sync", 61)
    other_5, other_8 = _job("default", 5), _job("emails", 8)
    old_but_waiting = _job("sync", 90, state=JobState.SCHEDULED)

    jobs_prune()

    kept = set(Job.objects.values_list("pk", flat=True))
    assert kept == {sync_30.pk, sync_59.pk, other_5.pk, old_but_waiting.pk}
    assert sync_61.pk not in kept and other_8.pk not in kept


def test_admin_never_shows_tokens(admin_client, make_participant):
    p = make_participant()
    token, refresh = p.access_token, p.refresh_token

    pages = [
        admin_client.get("/admin/sync/participant/").content.decode(),
        admin_client.get(f"/admin/sync/participant/{p.pk}/change/").content.decode(),
    ]

    for page in pages:
        assert token not in page and refresh not in page
        assert p.access_token_encrypted not in page
    assert p.name not in pages[0]  # no names in the list view


def test_admin_offers_no_token_fields_only_the_connect_link(admin_client, make_participant):
    p = make_participant()
    page = admin_client.get(f"/admin/sync/participant/{p.pk}/change/").content.decode()

    assert "/sync/strava/connect/" in page
    assert 'name="new_access_token"' not in page and 'name="new_refresh_token"' not in page
    assert 'type="password"' not in page


def test_run_a_full_sync_is_offered_on_an_empty_run_list(admin_client):
    page = admin_client.get("/admin/sync/syncrun/").content.decode()

    assert not SyncRun.objects.exists()
    assert "Run a full sync now" in page and 'action="/admin/sync/syncrun/sync-now/"' in page
    response = admin_client.post("/admin/sync/syncrun/sync-now/", follow=True)
    assert "Sync started as job" in response.content.decode()
    job = Job.objects.get(task="sync.tasks.sync_all_task")
    assert job.kwargs == {"participant_ids": None, "trigger": "manual"}
    assert admin_client.get("/admin/sync/syncrun/sync-now/").status_code == 405


def test_health_flags_a_day_run_still_open_after_the_allowed_hours(settings, make_participant):
    ensure_schedules()
    settings.SYNC_HEALTH_MAX_RUN_HOURS = 6
    with time_machine.travel(datetime(2026, 6, 10, 0, 5, tzinfo=WAW), tick=False):
        run = SyncRun.objects.create(
            local_date=date(2026, 6, 10),
            trigger=SyncTrigger.SCHEDULED,
            job_id="j2",
            started_at=timezone.now(),
        )
    with time_machine.travel(datetime(2026, 6, 10, 5, 0, tzinfo=WAW), tick=False):
        assert check_sync()["ok"]  # open, but within the allowed time
    with time_machine.travel(datetime(2026, 6, 10, 7, 0, tzinfo=WAW), tick=False):
        report = check_sync()
    assert not report["ok"] and report["day_run_open_hours"] == pytest.approx(6.92, abs=0.01)
    assert f"sync run {run.pk} still unfinished after 6.9 h" in report["problems"][0]
    SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), state="succeeded")
    with time_machine.travel(datetime(2026, 6, 10, 7, 0, tzinfo=WAW), tick=False):
        assert check_sync()["ok"]


def test_health_names_missing_strava_credentials_as_a_warning(settings, make_participant):
    """Not configured is a warning (a fresh `make run` with its first participant), not red."""
    make_participant()
    settings.STRAVA_CLIENT_ID = ""
    report = check_sync()
    assert report["ok"] and not report["strava_configured"]
    assert "STRAVA_CLIENT_ID / STRAVA_CLIENT_SECRET are not set" in " ".join(report["warnings"])


def test_health_of_a_fresh_install_with_one_participant_and_no_run_yet_is_not_a_failure(
    settings, make_participant
):
    ensure_schedules()
    make_participant()
    settings.SYNC_HEALTH_MAX_LAG = 2 * 3600
    with time_machine.travel(datetime(2026, 6, 10, 3, 0, tzinfo=WAW), tick=False):
        report = check_sync()
    assert report["ok"], report
    assert any("no sync run for 2026-06-10" in w for w in report["warnings"])


def test_health_reports_a_missing_day_run_after_the_allowed_lag(settings):
    ensure_schedules()
    settings.SYNC_HEALTH_MAX_LAG = 2 * 3600
    with time_machine.travel(datetime(2026, 6, 9, 0, 5, tzinfo=WAW), tick=False):  # yesterday's ran
        SyncRun.objects.create(
            local_date=date(2026, 6, 9), trigger=SyncTrigger.SCHEDULED, job_id="j0", started_at=timezone.now()
        )
    with time_machine.travel(datetime(2026, 6, 10, 1, 0, tzinfo=WAW), tick=False):
        assert check_sync()["ok"]  # an hour after midnight: not yet a worry
    with time_machine.travel(datetime(2026, 6, 10, 3, 0, tzinfo=WAW), tick=False):
        report = check_sync()
        assert not report["ok"] and report["local_date"] == "2026-06-10"
        SyncRun.objects.create(
            local_date=date(2026, 6, 10), trigger=SyncTrigger.CATCH_UP, job_id="j1", started_at=timezone.now()
        )
        assert check_sync()["ok"]


def test_an_outcome_left_open_by_a_lost_worker_is_closed_by_the_catch_up(make_participant):
    """A worker killed mid-job (no exception handler runs); the job was then failed for good:
    the next catch-up tick closes the participant and the run instead of leaving them open."""
    from sync.models import OutcomeState, SyncOutcome
    from sync.tasks import sync_catch_up_task

    p = make_participant()
    run = SyncRun.objects.create(
        trigger=SyncTrigger.MANUAL, job_id="j-lost", started_at=timezone.now(), fanned_out_at=timezone.now()
    )
    dead = _job("sync", 0, state=JobState.FAILED)
    alive = _job("sync", 0, state=JobState.SCHEDULED)  # snoozed: still coming back
    q = make_participant()
    SyncOutcome.objects.create(run=run, participant=p, state=OutcomeState.RUNNING, job_id=str(dead.pk))
    waiting = SyncOutcome.objects.create(
        run=run, participant=q, state=OutcomeState.RETRYING, job_id=str(alive.pk)
    )

    sync_catch_up_task()

    closed = SyncOutcome.objects.get(run=run, participant=p)
    assert closed.state == OutcomeState.FAILED and f"job {dead.pk} ended (failed)" in closed.error
    assert SyncOutcome.objects.get(pk=waiting.pk).state == OutcomeState.RETRYING
    run.refresh_from_db()
    assert run.finished_at is None  # one participant is still on its way
    Job.objects.filter(pk=alive.pk).update(state=JobState.CANCELLED)
    sync_catch_up_task()
    run.refresh_from_db()
    assert run.finished_at is not None and run.state == "failed" and run.participants_failed == 2

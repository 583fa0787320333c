"""Catch-up and DST, with time-machine moving the clock.

The beat entry and the catch-up check are simulated at their times by calling what their jobs
call (sync_run_begin for the nightly job, sync_due then sync_run_begin for the catch-up job):
the jobs' Redis unique keys expire on Redis's real clock, which time-machine cannot move. The
catch-up job's own enqueue is tested on its own below.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Job
from jobs.plugins.cron import ensure_schedules
from sync.models import SyncRun, SyncTrigger
from sync.runs import sync_all, sync_catch_up, sync_due, sync_run_begin, sync_slot

pytestmark = pytest.mark.django_db
WAW = zoneinfo.ZoneInfo("Europe/Warsaw")
STEP = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _schedules():
    ensure_schedules()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=WAW)


def nightly() -> SyncRun | None:
    """What the beat-fired sync_all job does when it starts."""
    return sync_run_begin(job_id=str(uuid.uuid4()), trigger=SyncTrigger.SCHEDULED)


def catch_up_tick() -> SyncRun | None:
    """What the catch-up job does, with the sync_all job it enqueues starting at once."""
    if sync_due() is None:
        return None
    return sync_run_begin(job_id=str(uuid.uuid4()), trigger=SyncTrigger.CATCH_UP)


def walk(start: datetime, end: datetime, down: tuple[datetime, datetime] | None = None) -> None:
    """Run the clock from start to end in real (UTC) steps: beat fires the nightly entry at each
    local midnight and the catch-up check every step, except while the service is down."""
    t = start
    while t < end:
        if not (down and down[0] <= t < down[1]):
            with time_machine.travel(t, tick=False):
                now_local = t.astimezone(WAW)
                if (now_local.hour, now_local.minute) == (0, 0):
                    nightly()
                catch_up_tick()
        t += STEP


def runs() -> dict[date, str]:
    rows = list(SyncRun.objects.values_list("local_date", "trigger"))
    per_day = Counter(d for d, _ in rows)
    assert all(n == 1 for n in per_day.values()), per_day
    return dict(rows)


def seed_run(day: date) -> None:
    SyncRun.objects.create(
        local_date=day,
        trigger=SyncTrigger.SCHEDULED,
        job_id=str(uuid.uuid4()),
        started_at=local(day.year, day.month, day.day, 0, 0),
    )


def test_restart_at_8_after_a_missed_midnight_runs_the_day_once(settings):
    seed_run(date(2026, 6, 9))
    walk(
        local(2026, 6, 9, 22, 0),
        local(2026, 6, 11, 1, 0),
        down=(local(2026, 6, 9, 23, 0), local(2026, 6, 10, 8, 0)),
    )

    assert runs() == {
        date(2026, 6, 9): "scheduled",
        date(2026, 6, 10): "catch_up",
        date(2026, 6, 11): "scheduled",
    }
    caught = SyncRun.objects.get(local_date=date(2026, 6, 10))
    assert caught.started_at.astimezone(WAW).strftime("%H:%M") == "08:00"


def test_several_missed_nights_make_one_run():
    seed_run(date(2026, 6, 1))
    walk(
        local(2026, 6, 1, 22, 0),
        local(2026, 6, 5, 12, 0),
        down=(local(2026, 6, 1, 23, 0), local(2026, 6, 4, 8, 0)),
    )

    assert runs() == {
        date(2026, 6, 1): "scheduled",
        date(2026, 6, 4): "catch_up",
        date(2026, 6, 5): "scheduled",
    }


def test_spring_forward_day_march_29_has_one_run():
    seed_run(date(2026, 3, 27))
    walk(local(2026, 3, 27, 22, 0), local(2026, 3, 31, 2, 0))

    assert runs() == {date(2026, 3, d): "scheduled" for d in (27, 28, 29, 30, 31)}


def test_fall_back_day_october_25_has_one_run():
    seed_run(date(2026, 10, 23))
    walk(local(2026, 10, 23, 22, 0), local(2026, 10, 27, 2, 0))

    assert runs() == {date(2026, 10, d): "scheduled" for d in (23, 24, 25, 26, 27)}


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_down_over_a_dst_night_catches_up_once(day):
    before = day - timedelta(days=1)
    seed_run(before)
    walk(
        local(before.year, before.month, before.day, 22, 0),
        local(day.year, day.month, day.day, 23, 50),
        down=(local(before.year, before.month, before.day, 23, 0), local(day.year, day.month, day.day, 8, 0)),
    )

    assert runs() == {before: "scheduled", day: "catch_up"}


def test_slot_across_the_dst_changes():
    # 02:30 on October 25 happens twice; both are on the 25th, whose midnight was CEST.
    for fold in (0, 1):
        at = datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=WAW)
        slot = sync_slot(now=at)
        assert slot.local_date == date(2026, 10, 25)
        assert slot.at.utcoffset() == timedelta(hours=2)
    # 02:00-03:00 does not exist on March 29; 03:30 is the 29th's, after a CET midnight.
    slot = sync_slot(now=local(2026, 3, 29, 3, 30))
    assert (slot.local_date, slot.at.utcoffset()) == (date(2026, 3, 29), timedelta(hours=1))
    assert sync_slot(now=local(2026, 3, 28, 23, 59)).local_date == date(2026, 3, 28)


def test_nightly_and_catch_up_never_double():
    with time_machine.travel(local(2026, 6, 10, 8, 0), tick=False):
        assert catch_up_tick() is not None  # the midnight was missed
        # beat, restarted, fires the missed midnight entry late: the day is taken
        assert nightly() is None
        assert sync_all(job_id=str(uuid.uuid4()), trigger="scheduled") == {
            "skipped": "the day already has its sync run"
        }
        assert catch_up_tick() is None
    with time_machine.travel(local(2026, 6, 11, 0, 0, 20), tick=False):
        assert nightly() is not None
    with time_machine.travel(local(2026, 6, 11, 0, 30), tick=False):
        assert catch_up_tick() is None
    assert runs() == {date(2026, 6, 10): "catch_up", date(2026, 6, 11): "scheduled"}


def test_nightly_job_starting_a_moment_early_belongs_to_the_new_day():
    with time_machine.travel(local(2026, 6, 10, 23, 59, 30), tick=False):
        run = nightly()
    assert run.local_date == date(2026, 6, 11)


def test_catch_up_waits_the_grace_period_for_beat(settings):
    settings.SYNC_CATCH_UP_GRACE = 600
    seed_run(date(2026, 6, 9))
    with time_machine.travel(local(2026, 6, 10, 0, 5), tick=False):
        assert sync_due() is None
    with time_machine.travel(local(2026, 6, 10, 0, 11), tick=False):
        assert sync_due() == date(2026, 6, 10)


def test_switched_off_nightly_entry_means_no_catch_up():
    PeriodicTask.objects.filter(name="sync.nightly").update(enabled=False)
    with time_machine.travel(local(2026, 6, 10, 8, 0), tick=False):
        assert sync_due() is None


def test_catch_up_follows_an_operator_retimed_nightly_entry():
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Europe/Warsaw"
    )
    PeriodicTask.objects.filter(name="sync.nightly").update(crontab=cron)
    seed_run(date(2026, 6, 9))
    with time_machine.travel(local(2026, 6, 10, 2, 0), tick=False):
        assert sync_due() is None  # the 9th's 03:30 slot has its run
    with time_machine.travel(local(2026, 6, 10, 3, 45), tick=False):
        assert sync_due() == date(2026, 6, 10)


def test_catch_up_job_enqueues_the_sync_once():
    seed_run(date(2026, 6, 9))
    with time_machine.travel(local(2026, 6, 10, 8, 0), tick=False):
        job_id = sync_catch_up()
        assert job_id is not None
        assert sync_catch_up() is None  # the first is still waiting for a worker
    job = Job.objects.get(pk=job_id)
    assert (job.task, job.queue, job.kwargs) == ("sync.tasks.sync_all_task", "sync", {"trigger": "catch_up"})


def test_beat_alone_skips_the_missed_midnight_at_8_but_loads_the_catch_up_entry():
    """The premise of the catch-up: django-celery-beat (2.8+) leaves crontabs whose hour is far
    from now out of its schedule, so after a restart at 08:00 the midnight entry is not even
    considered; the catch-up entry (an interval) is."""
    from jobs.plugins.beat import Scheduler
    from project.celery import app

    with time_machine.travel(local(2026, 6, 10, 8, 0), tick=False):
        loaded = {m.name for m in Scheduler(app=app, lazy=True).enabled_models()}
    assert "sync.catch_up" in loaded and "sync.nightly" not in loaded
    with time_machine.travel(local(2026, 6, 10, 0, 30), tick=False):
        loaded = {m.name for m in Scheduler(app=app, lazy=True).enabled_models()}
    assert "sync.nightly" in loaded

"""End to end with PostgreSQL; Strava is the local fake. Jobs run in this process through
jobs.testing's drain() (the real claim, retry and Snooze path); the tests about backoff timing,
a worker slot, or a command that follows a run a worker executes meanwhile use a real worker."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job, JobState
from jobs.testing import assert_enqueued, drain, manual
from sync.models import Activity, OutcomeState, SyncRun, SyncRunState
from sync.tasks import sync_all_task, sync_participant_task
from tests.helpers import wait_for
from tests.sync.fake_strava import activity

pytestmark = pytest.mark.django_db


def _run_of(job_id: str) -> SyncRun:
    """The run of a sync_all job, which drain() has already run: closed."""
    return SyncRun.objects.get(job_id=job_id, finished_at__isnull=False)


def _finished_run(job_id: str, timeout: float = 45) -> SyncRun:
    """The run of a sync_all job a worker runs: wait until it is closed."""
    return wait_for(
        lambda: SyncRun.objects.filter(job_id=job_id, finished_at__isnull=False).first(),
        timeout=timeout,
        message=f"run of job {job_id} finished",
    )


def _window_passes() -> None:
    """The unique hour is over: the jobs that held it were enqueued two hours ago."""
    from datetime import timedelta

    from django.db.models import F

    Job.objects.update(enqueued_at=F("enqueued_at") - timedelta(hours=2))


def test_a_failing_participant_does_not_stop_the_others(make_participant, fake_strava):
    ok1 = make_participant([activity(1), activity(2), activity(3)])
    ok2 = make_participant([activity(4)], expired=True)  # refreshed on the way
    down = make_participant([activity(5)])
    fake_strava.broken[f"access-{down.athlete_id}"] = 500
    revoked = make_participant([activity(6)], expired=True)
    del fake_strava.refresh[f"refresh-{revoked.athlete_id}"]

    with manual():
        job_id = sync_all_task.enqueue(trigger="manual").job_id
        assert drain("sync") == {"succeeded": 3, "retrying": 2, "failed": 2}
    run = _run_of(job_id)

    assert run.state == SyncRunState.PARTIAL
    assert (run.participants_succeeded, run.participants_failed) == (2, 2)
    assert run.activities_created == 4
    assert set(Activity.objects.values_list("external_id", flat=True)) == {1, 2, 3, 4}
    outcomes = {o.participant_id: o for o in run.outcomes.all()}
    assert outcomes[ok1.pk].created == 3 and outcomes[ok2.pk].state == OutcomeState.SUCCEEDED
    assert (outcomes[down.pk].state, outcomes[down.pk].attempts) == (OutcomeState.FAILED, 3)
    assert "500" in outcomes[down.pk].error
    assert (outcomes[revoked.pk].state, outcomes[revoked.pk].attempts) == (OutcomeState.FAILED, 1)
    jobs = {j.kwargs["participant_id"]: j for j in Job.objects.filter(task=sync_participant_task.name)}
    assert (jobs[down.pk].state, jobs[down.pk].attempt) == (JobState.FAILED, 3)
    assert (jobs[revoked.pk].state, jobs[revoked.pk].attempt) == (JobState.FAILED, 1)
    assert jobs[ok1.pk].state == JobState.SUCCEEDED
    # job arguments and results carry ids and counts only
    assert set(jobs[ok1.pk].kwargs) == {"run_id", "participant_id"}
    every = " ".join(f"{j.kwargs} {j.result} {j.last_error}" for j in Job.objects.all())
    assert "access-" not in every and "refresh-" not in every and "Athlete" not in every


def test_transient_5xx_is_retried_with_growing_backoff(celery_worker, make_participant, fake_strava):
    # A worker: the gaps between attempts are the real backoff; drain() runs a retry at once.
    p = make_participant([activity(1)])
    fake_strava.fail_next("/athlete/activities", 503, times=2)

    run = _finished_run(sync_all_task.enqueue(participant_ids=[p.pk]).job_id)

    outcome = run.outcomes.get()
    assert (outcome.state, outcome.attempts, outcome.created) == (OutcomeState.SUCCEEDED, 3, 1)
    times = [s.at for s in fake_strava.requests_to("/athlete/activities")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 2 and gaps[0] >= 0.9 and gaps[1] >= 1.9  # backoff base 2s, jittered
    job = Job.objects.get(task=sync_participant_task.name)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 3) and "503" in job.last_error


def test_rerun_after_the_window_changes_nothing(make_participant, fake_strava):
    make_participant([activity(i) for i in range(1, 6)])
    make_participant([activity(i) for i in range(6, 9)])
    with manual():
        first_id = sync_all_task.enqueue().job_id
        assert drain("sync") == {"succeeded": 3}
        first = _run_of(first_id)
        before = list(Activity.objects.order_by("external_id").values())

        _window_passes()
        second_id = sync_all_task.enqueue().job_id
        assert drain("sync") == {"succeeded": 3}
    second = _run_of(second_id)

    assert (first.activities_created, first.state) == (8, SyncRunState.SUCCEEDED)
    assert (second.activities_created, second.activities_updated) == (0, 0)
    assert second.activities_fetched == 8
    assert list(Activity.objects.order_by("external_id").values()) == before


def test_manual_runs_during_the_nightly_one_join_it(make_participant, fake_strava, admin_client):
    make_participant([activity(1)])
    with manual():
        nightly = sync_all_task.enqueue(trigger="scheduled")
        joined = sync_all_task.enqueue(trigger="manual")  # while the nightly one waits
        assert drain("sync") == {"succeeded": 2}
        # within the hour after it: the command follows the nightly run, the admin says so
        out = StringIO()
        call_command("sync_all", stdout=out, stderr=io.StringIO(), timeout=5)
        response = admin_client.post("/admin/sync/syncrun/", {"action": "sync_all_now"}, follow=True)
        assert drain("sync") == {}

    assert joined.duplicate and joined.job_id == nightly.job_id
    assert f"already queued or ran within the hour: job {nightly.job_id}" in out.getvalue()
    assert "already queued or ran within the hour" in response.content.decode()
    run = _run_of(nightly.job_id)
    assert SyncRun.objects.count() == 1 and run.trigger == "scheduled"
    assert Job.objects.filter(task=sync_all_task.name).count() == 1
    assert Job.objects.filter(task=sync_participant_task.name).count() == 1


def test_command_syncs_one_participant_with_a_progress_bar(celery_worker, make_participant, fake_strava):
    # A worker: the command blocks following the run, which something else must run meanwhile.
    make_participant([activity(1)])
    p = make_participant([activity(2), activity(3)])
    out, err = StringIO(), StringIO()

    call_command("sync_all", participants=[p.pk], stdout=out, stderr=err, timeout=45)

    assert "succeeded: 1 ok, 0 failed" in out.getvalue()
    assert "2 new" in out.getvalue()
    assert "participant" in err.getvalue()  # tqdm's bar
    assert set(Activity.objects.values_list("external_id", flat=True)) == {2, 3}
    assert SyncRun.objects.get().participant_ids == [p.pk]


def test_command_refuses_an_unknown_participant_and_enqueues_nothing():
    with manual(), pytest.raises(CommandError, match="no participant with id 999"):
        call_command("sync_all", participants=[999], stdout=StringIO(), no_wait=True)
    assert not Job.objects.exists()


def test_admin_action_syncs_the_selected_participants(make_participant, fake_strava, admin_client):
    a = make_participant([activity(1)])
    b = make_participant([activity(2)])
    make_participant([activity(3)])

    with manual():
        response = admin_client.post(
            "/admin/sync/participant/",
            {"action": "sync_selected", "_selected_action": [str(b.pk), str(a.pk)]},
            follow=True,
        )
        assert "Sync started as job" in response.content.decode()
        job = assert_enqueued(sync_all_task, participant_ids=sorted([a.pk, b.pk]), trigger="manual")
        assert job.kwargs == {"participant_ids": sorted([a.pk, b.pk]), "trigger": "manual"}
        assert drain("sync") == {"succeeded": 3}
    run = _run_of(str(job.id))
    assert set(Activity.objects.values_list("external_id", flat=True)) == {1, 2}
    assert run.participants_total == 2


def test_declared_job_options():
    opts = sync_all_task.job_options
    assert (opts.queue, opts.max_attempts, opts.unique_for) == ("sync", 3, 3600)
    assert opts.unique_on == ("participant_ids",)
    assert opts.backoff.delay(2) > 0 and opts.backoff.cap >= 60
    popts = sync_participant_task.job_options
    assert (popts.queue, popts.max_attempts, popts.unique_on) == ("sync", 3, ("participant_id",))


def test_catch_up_job_runs_the_missed_day_once(make_participant, fake_strava, settings):
    """The service was down over midnight: today has no run. The catch-up job starts today's
    sync once; its next ticks do nothing."""
    from jobs.plugins.cron import ensure_schedules
    from sync.runs import sync_slot
    from sync.tasks import sync_catch_up_task

    settings.SYNC_CATCH_UP_GRACE = 0
    ensure_schedules()
    make_participant([activity(1)])

    with manual():
        first = sync_catch_up_task.enqueue()
        assert drain("sync") == {"succeeded": 3}  # the catch-up, the sync it starts, its participant
        assert Job.objects.get(pk=first.job_id).state == JobState.SUCCEEDED
        sync_job_id = Job.objects.get(pk=first.job_id).result
        run = _run_of(sync_job_id)
        assert (run.trigger, run.local_date) == ("catch_up", sync_slot().local_date)
        assert run.activities_created == 1

        _window_passes()  # later ticks, after every unique window: still nothing to do
        again = sync_catch_up_task.enqueue()
        assert drain("sync") == {"succeeded": 1}
    assert Job.objects.get(pk=again.job_id).state == JobState.SUCCEEDED
    assert Job.objects.get(pk=again.job_id).result is None
    assert SyncRun.objects.count() == 1
    assert Job.objects.filter(task=sync_all_task.name).count() == 1


def test_rate_limit_snoozes_and_frees_the_worker_slot(
    worker_process, make_participant, fake_strava, settings
):
    """One worker slot, two participants, Strava says 429 (Retry-After 3) to the first request:
    the other participant is synced during the wait, and the rate-limited one afterwards, on
    the same attempt (a snooze is not an attempt)."""
    a = make_participant([activity(1)])
    b = make_participant([activity(2)])
    fake_strava.fail_next("/athlete/activities", 429, **{"Retry-After": "3"})
    worker_process(
        queues=["sync"],
        concurrency=1,
        STRAVA_API_URL=settings.STRAVA_API_URL,
        STRAVA_TOKEN_URL=settings.STRAVA_TOKEN_URL,
        STRAVA_CLIENT_ID=settings.STRAVA_CLIENT_ID,
        STRAVA_CLIENT_SECRET=settings.STRAVA_CLIENT_SECRET,
        STRAVA_PER_PAGE="2",
    )

    run = _finished_run(sync_all_task.enqueue().job_id, timeout=60)

    assert run.state == SyncRunState.SUCCEEDED and run.activities_created == 2
    seen = fake_strava.requests_to("/athlete/activities")
    limited_at, limited_token = seen[0].at, seen[0].auth
    other = next(s for s in seen[1:] if s.auth != limited_token)
    retried = next(s for s in seen[1:] if s.auth == limited_token)
    assert other.at < limited_at + 3 <= retried.at  # the slot served the other one meanwhile
    jobs = wait_for(  # the run closes inside the last job's body, its job row a moment later
        lambda: (
            js
            if len(js := list(Job.objects.filter(task=sync_participant_task.name, state=JobState.SUCCEEDED)))
            == 2
            else None
        ),
        timeout=10,
        message="both participant jobs recorded as succeeded",
    )
    assert {j.kwargs["participant_id"] for j in jobs} == {a.pk, b.pk}
    assert [j.attempt for j in jobs] == [1, 1]
    assert sorted(j.deferrals for j in jobs) == [0, 1]
    assert {o.attempts for o in run.outcomes.all()} == {1}


def test_truncated_responses_fail_the_participant_and_close_the_run(make_participant, broken_http, settings):
    p = make_participant([activity(1)])
    settings.STRAVA_API_URL = broken_http("chunked")

    with manual():
        job_id = sync_all_task.enqueue(participant_ids=[p.pk]).job_id
        assert drain("sync") == {"succeeded": 1, "retrying": 2, "failed": 1}
    run = _run_of(job_id)

    outcome = run.outcomes.get()
    assert (run.state, outcome.state, outcome.attempts) == (SyncRunState.FAILED, OutcomeState.FAILED, 3)
    assert "ChunkedEncodingError" in outcome.error
    assert not run.outcomes.filter(state=OutcomeState.RUNNING).exists()
    job = Job.objects.get(task=sync_participant_task.name)
    assert (job.state, job.attempt) == (JobState.FAILED, 3)

"""jobs.testing: manual mode, assertions on what was enqueued, and drain() with the real
claim, retry and snooze semantics — no worker, no Redis."""

import pytest

from jobs.models import Job, JobAttempt, JobState
from jobs.testing import all_enqueued, assert_enqueued, drain, manual, refute_enqueued
from tests.jobs.tasks import counted_job, flaky_job, sensitive_effect_job, snoozing_job, unique_job

pytestmark = pytest.mark.django_db


def test_manual_mode_records_without_publishing_and_assertions_read_the_table(
    django_capture_on_commit_callbacks,
):
    with manual(), django_capture_on_commit_callbacks(execute=True):
        counted_job.enqueue(n=1)
        counted_job.enqueue(n=2, countdown=60)
        sensitive_effect_job.enqueue(text="jan@example.com", channel="C1")
    assert Job.objects.filter(published_at__isnull=True).count() == 3
    assert_enqueued(counted_job, n=2)
    assert_enqueued(sensitive_effect_job, text="jan@example.com")  # matched on the real arguments
    refute_enqueued(counted_job, n=3)
    assert [j.kwargs["n"] for j in all_enqueued(task=counted_job)] == [1, 2]
    with pytest.raises(AssertionError, match="no waiting"):
        assert_enqueued(counted_job, n=9)


def test_drain_runs_retries_and_snoozes_with_the_real_semantics():
    with manual():
        flaky_job.enqueue(key="d", fail_times=2)  # succeeds on its third attempt
        snoozing_job.enqueue(key="d", times=1)  # snoozes once, then succeeds
        counted_job.enqueue(n=5, fail_first=False)
        outcomes = drain("default")
    assert outcomes == {"retrying": 2, "snoozed": 1, "succeeded": 3}
    flaky = Job.objects.get(task=flaky_job.name)
    assert (flaky.state, flaky.attempt) == (JobState.SUCCEEDED, 3)
    snoozed = Job.objects.get(task=snoozing_job.name)
    assert (snoozed.attempt, snoozed.deferrals) == (1, 1)
    assert JobAttempt.objects.filter(job_id=flaky.pk).count() == 3


def test_drain_runs_a_job_once_and_uniqueness_still_holds():
    with manual():
        first = unique_job.enqueue(n=1)
        assert unique_job.enqueue(n=1).duplicate
        assert drain() == {"succeeded": 1}
        assert drain() == {}
    assert Job.objects.get(pk=first.job_id).state == JobState.SUCCEEDED


def test_single_flight_inside_a_job_snoozes_instead_of_sleeping():
    from jobs import Snooze, single_flight
    from jobs.coordination import coordinator, key
    from jobs.core.context import JobContext, _current

    coordinator().lease_acquire(key("single", "tests.guard"), "someone-else", 60)
    inside = _current.set(JobContext("j1", "tests.guarded", "default", attempt=1, max_attempts=1))
    try:
        with (
            pytest.raises(Snooze, match="single flight tests.guard busy"),
            single_flight("tests.guard", wait=60),
        ):
            pytest.fail("the block ran while another holder had the lease")
    finally:
        _current.reset(inside)
        coordinator().lease_release(key("single", "tests.guard"), "someone-else")


def test_drain_runs_jobs_in_the_order_they_fall_due():
    with manual():
        later = counted_job.enqueue(n=1, countdown=3600)  # due in an hour
        snoozer = snoozing_job.enqueue(key="order", times=2)  # due now, then again after each snooze
        now = counted_job.enqueue(n=2)
        assert drain("default") == {"snoozed": 2, "succeeded": 3}
    finished = [str(pk) for pk in Job.objects.order_by("finished_at").values_list("pk", flat=True)]
    # the job queued after the snoozer runs between its snoozes; the hour-away one goes last
    assert finished == [now.job_id, snoozer.job_id, later.job_id]


@pytest.fixture
def always_eager():
    """Celery's eager mode as Django projects set it (CELERY_TASK_ALWAYS_EAGER)."""
    from project.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_TASK_EAGER_PROPAGATES = True, False
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_TASK_EAGER_PROPAGATES = old


def test_enqueue_in_celery_eager_mode_runs_inline_and_says_how_it_ended(always_eager):
    """`task.enqueue()` under CELERY_TASK_ALWAYS_EAGER ran the body, then raised AttributeError
    (Celery's EagerResult has no `.enqueued`); now it answers like any enqueue."""
    ran = counted_job.enqueue(n=4)
    failed = flaky_job.enqueue(key="eager", fail_times=5)
    assert ran.state == "succeeded" and not ran.duplicate and len(ran.job_id) == 36
    assert failed.state == "failed"
    assert not Job.objects.filter(pk__in=[ran.job_id, failed.job_id]).exists()  # eager: no rows

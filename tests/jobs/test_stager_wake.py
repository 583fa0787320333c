"""The stager polls rarely (JOBS_MOVER_INTERVAL, 1 s) yet a worker node that makes a job due sooner
— a snooze, a freed single-flight gate — has its own stager move it then, not at the next poll.

Each test stretches the poll to an hour after the stager's first run, so a job that runs again
was moved by the wake-up alone."""

import uuid

import pytest
import redis
from django.conf import settings as django_settings

from jobs.conf import conf
from jobs.models import Job, JobState
from jobs.plugins import stager
from jobs.runtime import runtime
from tests.helpers import wait_for
from tests.jobs.tasks import single_job, snoozing_job

pytestmark = pytest.mark.integration


def _poll_in_an_hour(settings) -> None:
    settings.JOBS_MOVER_INTERVAL = 3600
    rt = runtime()
    rt.every("stager", lambda: conf().mover_interval, stager.move_due)  # runs once now, then hourly
    wait_for(lambda: (rt.next_due("stager") or 0) > 60, timeout=30, message="the stager's first run")


def test_a_snoozed_job_runs_again_without_waiting_for_the_stagers_poll(celery_worker, settings):
    _poll_in_an_hour(settings)
    enq = snoozing_job.enqueue(key=uuid.uuid4().hex, times=2)  # snoozes 0.3 s twice, then succeeds
    wait_for(
        lambda: Job.objects.get(pk=enq.job_id).state == JobState.SUCCEEDED,
        timeout=60,
        message="the snoozed job ran again",
    )
    assert Job.objects.get(pk=enq.job_id).deferrals == 2


def test_a_job_parked_on_a_single_flight_gate_runs_when_the_holder_lets_go(celery_worker, settings):
    r = redis.Redis.from_url(django_settings.REDIS_URL)
    r.delete("test:single_running", "test:single_max", "test:single_done")
    _poll_in_an_hour(settings)
    ids = [single_job.enqueue(n=i).job_id for i in range(3)]  # one at a time: the others park
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == 3,
        timeout=60,
        message="every parked job ran once its turn came",
    )
    assert Job.objects.filter(pk__in=ids, deferrals__gt=0).exists()  # some did park
    assert sorted(int(x) for x in r.lrange("test:single_done", 0, -1)) == [0, 1, 2]
    assert max(int(x) for x in r.lrange("test:single_max", 0, -1)) == 1

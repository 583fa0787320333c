"""Retry is the job's own (Oban's retry_job): the same row goes back to waiting, its budget
raised when spent, its history kept; retrying twice, or in bulk, never runs a payload twice."""

import pytest

from jobs.console.actions import job_retry, jobs_retry
from jobs.models import Job, JobAttempt, JobState
from jobs.testing import drain, manual
from tests.jobs.tasks import flaky_job

pytestmark = pytest.mark.django_db


def _failed(key: str) -> Job:
    with manual():
        enq = flaky_job.enqueue(key=key, fail_times=3)
        drain("default")
    job = Job.objects.get(pk=enq.job_id)
    assert job.state == JobState.FAILED and job.attempt == 3
    return job


def test_retry_puts_the_same_job_back_with_one_more_attempt_and_keeps_its_history():
    job = _failed("r1")
    with manual():
        assert job_retry(job=job) == str(job.pk)
        assert drain("default") == {"succeeded": 1}
    job.refresh_from_db()
    assert (job.state, job.attempt, job.max_attempts) == (JobState.SUCCEEDED, 4, 4)
    outcomes = list(
        JobAttempt.objects.filter(job_id=job.pk).order_by("attempt").values_list("outcome", flat=True)
    )
    assert outcomes == ["retrying", "retrying", "failed", "succeeded"]
    assert Job.objects.count() == 1  # no second row for the same payload


def test_retrying_twice_and_in_bulk_runs_the_payload_once():
    first, second = _failed("r2"), _failed("r3")
    with manual():
        job_retry(job=first)
        job_retry(job=Job.objects.get(pk=first.pk))  # already waiting: nothing more
        result = jobs_retry(jobs=Job.objects.filter(pk__in=[first.pk, second.pk]))
        assert result.done == [str(second.pk)] and str(first.pk) in result.skipped
        assert drain("default") == {"succeeded": 2}
    assert Job.objects.count() == 2
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.SUCCEEDED}

"""The poll job: single poll at a time (a real worker), skips when switched off, the first poll
records events (run in this process by jobs.testing's drain())."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from emails import polling
from emails.config import POLL_TASK, email_settings_update
from emails.models import EmailEvent, PollState
from jobs.models import Job, JobState
from jobs.testing import assert_enqueued, drain, manual
from tests.emails import payloads as p
from tests.emails.conftest import depth, put
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


def finished(job_id: str) -> Job | None:
    return Job.objects.filter(pk=job_id, state__in=[JobState.SUCCEEDED, JobState.FAILED]).first()


@pytest.mark.django_db(transaction=True)  # two threads, two connections: committed rows
def test_poll_now_twice_at_once_runs_one_poll(celery_worker, queue_url):
    # A worker: the second call must come while the first poll is running, in another thread.
    polling.enable_polling(first_poll=False)
    # A long-poll wait keeps the first poll running while the second call comes in.
    email_settings_update(wait_time_seconds=1, poll_budget_seconds=3)
    put(queue_url, p.mixed(20))

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: polling.poll_now(), range(2))

    assert a.job_id == b.job_id and sorted([a.duplicate, b.duplicate]) == [False, True]
    job = wait_for(lambda: finished(a.job_id), 30, message="the poll to finish")
    assert job.state == JobState.SUCCEEDED and job.queue == "sqs_polling"
    assert job.result["recorded"] == 20
    assert Job.objects.filter(task=POLL_TASK).count() == 1
    assert PollState.objects.get().total_polls == 1
    assert EmailEvent.objects.count() == 20 and depth(queue_url) == 0
    # Once it has finished, the next poll may be queued (the interval is not held up for 60 s).
    again = polling.poll_now()
    assert not again.duplicate and again.job_id != a.job_id
    wait_for(lambda: finished(again.job_id), 30, message="the second poll")


def test_a_poll_already_queued_skips_its_work_once_polling_is_disabled(queue_url):
    polling.enable_polling(first_poll=False)
    put(queue_url, [p.raw(p.ses_event("Delivery", "m"))])
    with manual():
        queued = polling.poll_now()  # waiting, nothing has run it yet …

        polling.disable_polling()  # … when the operator switches polling off

        assert drain("sqs_polling") == {"succeeded": 1}
    job = finished(queued.job_id)
    assert job is not None and job.state == JobState.SUCCEEDED
    assert job.result["skipped"] == "SQS polling disabled"
    assert depth(queue_url) == 1 and EmailEvent.objects.count() == 0


def test_enabling_queues_a_first_poll_that_records_events(queue_url, django_capture_on_commit_callbacks):
    put(queue_url, [p.sns(p.ses_event("Complaint", "m", to=["x@example.com"]))])

    with manual():
        with django_capture_on_commit_callbacks(execute=True):  # the first poll is queued on commit
            polling.enable_polling()
        assert_enqueued(POLL_TASK)
        assert drain("sqs_polling") == {"succeeded": 1}

    assert EmailEvent.objects.exists()
    assert depth(queue_url) == 0  # the message deleted
    assert polling.status()["last_run"] is not None

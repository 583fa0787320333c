"""The write-behind's batch statements (jobs/table/behind.py) and a single enqueue's hand-off to
the broker overlapped with PostgreSQL's commit (jobs/core/handoff.py): one statement per flush,
only lease holders finish, and an INSERT that fails or is interrupted publishes nothing and
keeps no connection."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from jobs.broker import publish
from jobs.broker.depth import queue_depth
from jobs.models import Job, JobAttempt, JobState
from jobs.table import behind
from jobs.table.rows import new_ids, postgres
from tests.jobs.tasks import counted_job
from tests.jobs.test_hot_path import Boom, _claim, _stored

pytestmark = pytest.mark.django_db(transaction=True)


# -- the write-behind's batches ------------------------------------------------------------------
def _noting_many(seen: list[bool]) -> Any:
    def wrapper(run: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(many)
        return run(sql, params, many, context)

    return wrapper


@pytest.mark.skipif(not postgres(), reason="one statement with arrays is PostgreSQL's")
def test_a_batch_of_publish_marks_is_one_statement_and_keeps_each_jobs_first_mark():
    ids = [_stored(i) for i in new_ids(3)]
    now = timezone.now()
    first, later, latest = now - timedelta(minutes=5), now - timedelta(seconds=1), now
    behind.jobs_mark_published([(first, [ids[0]])])
    statements: list[bool] = []  # for each statement: was it an executemany
    with connection.execute_wrapper(_noting_many(statements)):  # two batches, one job in both
        behind.jobs_mark_published([(later, [ids[0], ids[1]]), (latest, [ids[2], ids[1]])])
    assert statements == [False]
    marks = dict(Job.objects.filter(pk__in=ids).values_list("id", "published_at"))
    assert marks[uuid.UUID(ids[0])] == first  # a job published again keeps its first mark
    assert marks[uuid.UUID(ids[1])] in (later, latest)
    assert marks[uuid.UUID(ids[2])] == latest  # each batch's own time


@pytest.mark.skipif(not postgres(), reason="one statement with arrays is PostgreSQL's")
def test_a_batch_of_successes_is_one_statement_and_only_lease_holders_finish():
    ids = [_stored(i) for i in new_ids(5)]
    for job_id in ids:
        assert _claim(job_id) is not None  # token "t:1", attempt 1
    now = timezone.now()
    started = now - timedelta(seconds=2)
    batch = [
        behind.finish_params(ids[0], "t:1", started, now, 2.0, "w1", {"sent": 3, "to": ["ü"]}),
        behind.finish_params(ids[1], "t:1", started, now, 2.0, "w1", None),
        behind.finish_params(ids[2], "t:stale", started, now, 2.0, "w2", "late"),  # lease lost
        behind.finish_params(ids[3], "t:1", started, now, 2.0, "w1", 'done, "quoted"'),
        behind.finish_params(ids[4], "t:1", started, now, 2.0, "w1", [1, "a,b", None, 2.5]),
    ]
    statements: list[bool] = []  # for each statement: was it an executemany
    with connection.execute_wrapper(_noting_many(statements)):
        behind.jobs_finish(batch)
    assert statements == [False]
    jobs = {str(j.id): j for j in Job.objects.filter(pk__in=ids)}
    done = JobState.SUCCEEDED
    assert [jobs[i].state for i in ids] == [done, done, JobState.STARTED, done, done]
    assert jobs[ids[0]].result == {"sent": 3, "to": ["ü"]} and jobs[ids[1]].result is None
    assert jobs[ids[3]].result == 'done, "quoted"' and jobs[ids[4]].result == [1, "a,b", None, 2.5]
    assert jobs[ids[0]].finished_at == now and jobs[ids[0]].lease_token is None
    assert jobs[ids[2]].lease_token == "t:1" and jobs[ids[2]].result is None
    attempts = JobAttempt.objects.filter(job_id__in=ids).values_list(
        "job_id", "attempt", "outcome", "duration_ms", "worker", "started_at"
    )
    assert sorted((str(a[0]), *a[1:]) for a in attempts) == sorted(
        (i, 1, "succeeded", 2000.0, "w1", started) for i in ids[:2] + ids[3:]
    )


# -- a single enqueue: its message made while PostgreSQL runs the INSERT (core/task.py) -----------
@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_single_enqueue_whose_insert_fails_publishes_nothing_and_keeps_no_broker_connection():
    job_id = str(uuid.uuid4())
    counted_job.enqueue_with((), {"n": 1}, task_id=job_id)
    assert queue_depth("default") == 1
    for _ in range(3):  # fewer than the pool holds: a connection kept would fail below, not hang
        with pytest.raises(IntegrityError):
            counted_job.enqueue_with((), {"n": 2}, task_id=job_id)  # the same id again
    assert queue_depth("default") == 1  # the failed INSERTs sent no message
    assert not publish.publish_pool()._dirty  # every broker connection given back
    assert _claim(counted_job.enqueue(n=3).job_id) is not None  # the database connection is free
    assert queue_depth("default") == 2
    assert Job.objects.filter(pk=job_id).values_list("kwargs", flat=True).get() == {"n": 1}


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_signal_that_interrupts_a_single_enqueue_publishes_nothing_and_frees_both_connections():
    """A soft time limit raised while a single enqueue waits for its INSERT (here behind another
    session's uncommitted row with the same id): the INSERT is cancelled, its made-ready message
    never pushed, the broker connection given back, and the database answers the next enqueue."""
    job_id = str(uuid.uuid4())
    counted_job.enqueue(n=0)  # the statement prepared, both connections open
    assert queue_depth("default") == 1

    def interrupt(signum, frame):
        raise Boom

    with psycopg.connect(connection.connection.info.dsn) as holder:
        holder.execute(  # the same id, uncommitted: our INSERT waits on its key
            "INSERT INTO jobs_job (id, task, queue, state, attempt, max_attempts, args, kwargs, "
            "enqueued_at, deferrals) VALUES (%s, %s, 'default', 'queued', 0, 1, '[]', '{}', now(), 0)",
            [uuid.UUID(job_id), counted_job.name],
        )
        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            with pytest.raises(Boom):
                counted_job.enqueue_with((), {"n": 1}, task_id=job_id)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        holder.rollback()
    assert queue_depth("default") == 1  # nothing pushed for the interrupted enqueue
    assert not publish.publish_pool()._dirty
    assert counted_job.enqueue_with((), {"n": 1}, task_id=job_id).job_id == job_id  # now it stores
    assert queue_depth("default") == 2

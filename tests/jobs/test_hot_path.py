"""The per-job statements and checks made cheaper for issue 20 keep their meaning: the claim and
a single enqueue's INSERT go through libpq outside a transaction and behave as through psycopg's
cursor (same rows, Django's errors, a usable connection after an error or a signal), the claim is
prepared unless the settings say not to, its relaxed commit stays inside its own statement, a
claim on a dead connection is Django's "database away", a remembered argument shape never lets a
wrong call through, and ids drawn in bulk are distinct random UUIDs."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from jobs.broker import publish
from jobs.broker.depth import queue_depth
from jobs.models import Job, JobAttempt, JobState
from jobs.table import behind, transitions
from jobs.table.rows import jobs_insert, new_ids, postgres
from tests.jobs.tasks import counted_job

pytestmark = pytest.mark.django_db(transaction=True)


def _claim(job_id: str) -> tuple | None:
    now = timezone.now()
    return transitions.job_claim(
        job_id, token="t:1", worker="w", now=now, lease_until=now + timedelta(seconds=30)
    )


def _stored(job_id: uuid.UUID) -> str:
    jobs_insert([counted_job.job_row((), {"n": 1}, now=timezone.now(), task_id=str(job_id))])
    return str(job_id)


def _synchronous_commit() -> str:
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()[0]


@pytest.mark.skipif(not postgres(), reason="the relaxed commit is PostgreSQL's")
def test_the_claims_relaxed_commit_ends_with_the_claim_and_the_claim_is_committed():
    job_id = _stored(uuid.uuid4())
    assert _claim(job_id) is not None
    # The body runs next on this connection: its own writes must be durable again.
    assert _synchronous_commit() == "on"
    # Seen from another connection at once: committed.
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        state = other.execute("SELECT state FROM jobs_job WHERE id = %s", [uuid.UUID(job_id)]).fetchone()
    assert state == (JobState.STARTED,)
    assert _claim(job_id) is None  # the lease is live: a second copy claims nothing


def _prepared_claims() -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%UPDATE jobs_job SET state%%'"
        )
        return cur.fetchone()[0]


@pytest.mark.skipif(not postgres(), reason="PostgreSQL's prepared statements")
@pytest.mark.parametrize("threshold", [5, None])
def test_the_claim_is_prepared_unless_preparing_is_off(threshold):
    """Planning the claim against the job table's indexes was most of PostgreSQL's work per job;
    prepare_threshold None (Django's default, for PgBouncer in transaction mode) prepares nothing."""
    connection.ensure_connection()
    was, connection.connection.prepare_threshold = connection.connection.prepare_threshold, threshold
    try:
        for _ in range(7):
            assert _claim(_stored(uuid.uuid4())) is not None
        assert _prepared_claims() == (1 if threshold else 0)
    finally:
        connection.close()  # the next test starts with the settings' own connection
        assert was == 5  # the project's settings turn it on (DB_PREPARED_STATEMENTS)


def test_a_claim_inside_a_transaction_leaves_that_transactions_commit_alone():
    job_id = _stored(uuid.uuid4())
    with transaction.atomic():
        assert _claim(job_id) is not None
        if postgres():
            assert _synchronous_commit() == "on"
    assert Job.objects.get(pk=job_id).state == JobState.STARTED


@pytest.mark.skipif(not postgres(), reason="a psycopg connection")
def test_a_claim_on_a_dead_connection_is_djangos_database_away_error():
    job_id = _stored(uuid.uuid4())
    connection.ensure_connection()
    connection.connection.close()  # as a failover leaves it: Django still holds the object
    try:
        with pytest.raises(OperationalError):
            _claim(job_id)
    finally:
        connection.close()
    assert _claim(job_id) is not None  # a new connection, as the worker's _reconnect() makes


def test_a_remembered_argument_shape_never_lets_a_wrong_call_through():
    counted_job.type_check((), {"n": 1})
    counted_job.type_check((), {"n": 1})  # remembered
    for args, kwargs in (((), {}), ((), {"m": 1}), ((1, 2, 3, 4), {}), ((1,), {"n": 1})):
        with pytest.raises(TypeError, match=counted_job.name):
            counted_job.enqueue(*args, **kwargs)
    assert not Job.objects.exists()


def test_bulk_ids_are_distinct_random_uuids():
    ids = new_ids(5000)
    assert len(set(ids)) == 5000
    assert {i.version for i in ids} == {4}
    assert {i.variant for i in ids} == {uuid.RFC_4122}


# -- the claim and a single enqueue sent straight through libpq (jobs/table/hot.py) -------------
def _prepared_names() -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cur.fetchall()}


class Boom(Exception):
    pass


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_outside_a_transaction_the_enqueue_and_the_claim_take_libpq_and_inside_one_they_stay_in_it():
    job_id = counted_job.enqueue(n=1).job_id
    assert _claim(job_id) is not None
    assert {"jobs_insert", "jobs_claim"} <= _prepared_names()
    # Inside atomic() the INSERT is the caller's: rolled back with it, never committed on its own.
    with pytest.raises(Boom), transaction.atomic():
        counted_job.enqueue(n=2)
        raise Boom
    assert list(Job.objects.values_list("kwargs", flat=True)) == [{"n": 1}]


def _row(**extra) -> dict:
    row = counted_job.job_row((), {"n": 1}, now=timezone.now(), countdown=60)
    text = {"display_name": 'Zoë ✓ "quoted" \\ back', "kwargs": {"n": 1, "deep": [{"ä": None, "e": 1.5}]}}
    return row | text | extra


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_row_written_through_libpq_reads_back_as_the_cursors_does():
    fast = _row(id=uuid.uuid4(), retry_of=str(uuid.uuid4()))
    slow = fast | {"id": uuid.uuid4()}
    jobs_insert([fast])
    with transaction.atomic():  # the cursor path
        jobs_insert([slow])
    got = {j.pk: j for j in Job.objects.all()}
    a, b = got[fast["id"]], got[slow["id"]]
    fields = [f.attname for f in Job._meta.concrete_fields if f.attname != "id"]
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}
    assert a.kwargs == {"n": 1, "deep": [{"ä": None, "e": 1.5}]} and a.scheduled_at == fast["scheduled_at"]


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_server_error_is_djangos_error_and_the_connection_stays_usable():
    row = _row(id=uuid.uuid4())
    jobs_insert([row])
    with pytest.raises(IntegrityError):
        jobs_insert([row])  # the same id again
    assert _claim(_stored(uuid.uuid4())) is not None  # the next statements are answered


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_statement_the_session_lost_is_prepared_again():
    assert _claim(_stored(uuid.uuid4())) is not None
    with connection.cursor() as cur:
        cur.execute("DEALLOCATE ALL")  # as a pooler's session reset does
    assert _claim(_stored(uuid.uuid4())) is not None
    assert "jobs_claim" in _prepared_names()


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_a_signal_that_interrupts_a_waiting_claim_leaves_the_connection_usable():
    """A soft time limit or a shutdown raises from a signal handler while the claim waits (here
    on a row another session holds): the claim is cancelled on the server and the connection
    answers the next statement."""
    job_id = _stored(uuid.uuid4())
    assert _claim(_stored(uuid.uuid4())) is not None  # prepared, connection open

    def interrupt(signum, frame):
        raise Boom

    with psycopg.connect(connection.connection.info.dsn) as holder:
        holder.execute("SELECT 1 FROM jobs_job WHERE id = %s FOR UPDATE", [uuid.UUID(job_id)])
        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            with pytest.raises(Boom):
                _claim(job_id)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        holder.rollback()
    assert _claim(job_id) is not None  # the cancelled claim changed nothing; this one claims


@pytest.mark.skipif(not postgres(), reason="libpq")
def test_an_execute_wrapper_still_sees_the_enqueue_and_the_claim():
    """Django's documented hook for instrumenting queries (and DEBUG's query log) sees every
    statement: the libpq path steps aside for it."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert _claim(_stored(uuid.uuid4())) is not None
    assert any(s.startswith("INSERT INTO jobs_job") for s in seen)
    assert any("UPDATE jobs_job SET state" in s for s in seen)


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
    ids = [_stored(i) for i in new_ids(3)]
    for job_id in ids:
        assert _claim(job_id) is not None  # token "t:1", attempt 1
    now = timezone.now()
    started = now - timedelta(seconds=2)
    batch = [
        behind.finish_params(ids[0], "t:1", started, now, 2.0, "w1", {"sent": 3, "to": ["ü"]}),
        behind.finish_params(ids[1], "t:1", started, now, 2.0, "w1", None),
        behind.finish_params(ids[2], "t:stale", started, now, 2.0, "w2", "late"),  # lease lost
    ]
    statements: list[bool] = []  # for each statement: was it an executemany
    with connection.execute_wrapper(_noting_many(statements)):
        behind.jobs_finish(batch)
    assert statements == [False]
    jobs = {str(j.id): j for j in Job.objects.filter(pk__in=ids)}
    assert [jobs[i].state for i in ids] == [JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.STARTED]
    assert jobs[ids[0]].result == {"sent": 3, "to": ["ü"]} and jobs[ids[1]].result is None
    assert jobs[ids[0]].finished_at == now and jobs[ids[0]].lease_token is None
    assert jobs[ids[2]].lease_token == "t:1" and jobs[ids[2]].result is None
    attempts = JobAttempt.objects.filter(job_id__in=ids).values_list(
        "job_id", "attempt", "outcome", "duration_ms", "worker", "started_at"
    )
    assert sorted((str(a[0]), *a[1:]) for a in attempts) == sorted(
        (i, 1, "succeeded", 2000.0, "w1", started) for i in ids[:2]
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

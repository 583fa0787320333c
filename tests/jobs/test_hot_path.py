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

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.table import transitions
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
    ids = [uuid.UUID(text) for text in new_ids(5000)]
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

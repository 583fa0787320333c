"""The per-job statements and checks made cheaper for issue 20 keep their meaning: the claim is
prepared unless the settings say not to, its relaxed commit stays inside its own statement, a
claim on a dead connection is Django's "database away", a remembered argument shape never lets a
wrong call through, and ids drawn in bulk are distinct random UUIDs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
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
def test_the_claim_is_prepared_after_a_few_runs_unless_preparing_is_off(threshold):
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

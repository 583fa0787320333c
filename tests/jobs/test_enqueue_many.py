"""A bulk enqueue (`enqueue_many`): one INSERT for the batch on PostgreSQL (jobs/table/bulk.py),
its messages built while that runs (jobs/core/handoff.py). Each row is what a single enqueue of
the same arguments stores, every column a row does not share with the others survives as given,
a batch PostgreSQL refuses stores and publishes nothing, and a real worker runs each job once."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jobs import enqueue_many
from jobs.broker import publish
from jobs.broker.depth import queue_depth
from jobs.models import Job, JobState
from jobs.table import rows
from jobs.table.payload import FILTERED, payload_real
from tests.helpers import wait_for
from tests.jobs.tasks import counted_job, sensitive_effect_job

pytestmark = pytest.mark.django_db(transaction=True)

# Values whose text a hand-written encoding gets wrong: quotes, backslashes, braces and commas
# (JSON and PostgreSQL's array syntax), non-ASCII, a NUL (PostgreSQL refuses it in text and JSON),
# JSON null inside a value, big and fractional numbers, a key that is not a valid name.
AWKWARD: list[Any] = [
    'say "hi", {ok}',
    "back\\slash\nnew line",
    "zürich ✓ 😀",
    "nul\x00inside",
    {"nested": [1, None, {"deep": True}], "a,b": "c"},
    [None, 2**62, 0.1, -1.5e-300],
    None,
    {"nul\x00key": 1, "\ud800lone": 2},
]
COMPARED = ("task", "queue", "state", "attempt", "max_attempts", "priority", "args", "kwargs")
COMPARED += ("unique_key", "scheduled_at", "deferrals", "retry_of", "display_name")


def _messages(queue: str) -> list[dict[str, Any]]:
    with publish.publish_pool().acquire(block=True) as conn:
        return [json.loads(m) for m in conn.default_channel.client.lrange(queue, 0, -1)]


def _fields(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in COMPARED}


def test_each_row_of_a_bulk_enqueue_is_what_a_single_enqueue_stores():
    kwargs_list = [{"text": f"secret {i}", "channel": value} for i, value in enumerate(AWKWARD)]
    bulk = enqueue_many(sensitive_effect_job, kwargs_list)
    single = [sensitive_effect_job.enqueue(**kw) for kw in kwargs_list]
    jobs = {str(k): v for k, v in Job.objects.in_bulk([e.job_id for e in bulk + single]).items()}
    for kw, many, one in zip(kwargs_list, bulk, single, strict=True):
        stored, alone = jobs[many.job_id], jobs[one.job_id]
        assert _fields(stored) == _fields(alone)
        assert stored.kwargs["text"] == FILTERED  # the sensitive argument never in the clear
        assert payload_real(stored.args, stored.kwargs, stored.secret_payload)[1] == kw
    assert queue_depth("default") == 2 * len(kwargs_list)


def test_a_bulk_enqueues_messages_carry_each_rows_shown_arguments():
    kwargs_list = [{"n": i, "seconds": 0.0, "fail_first": i % 2 == 0} for i in range(300)]
    enqueued = enqueue_many(counted_job, kwargs_list)
    assert [e.state for e in enqueued] == [JobState.QUEUED] * 300
    bodies = {}
    for message in _messages("default"):
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        bodies[message["headers"]["id"]] = (args, kwargs)
    assert bodies == {e.job_id: ([], kw) for e, kw in zip(enqueued, kwargs_list, strict=True)}
    published = Job.objects.filter(published_at__isnull=False).count
    wait_for(lambda: published() == 300, timeout=10, message="every row marked published")


def test_rows_that_differ_in_any_column_are_stored_as_given():
    """The batch statement sends a column all rows share once and the others per row: rows that
    differ in queue, priority, schedule, retry_of, display name and arguments keep their own."""
    now = timezone.now()
    made = []
    for i, queue in enumerate(["default", "handlers", "default", "sync"]):
        row = counted_job.job_row(
            (),
            {"n": i, "seconds": [0.0, 1.5][i % 2]},
            now=now,
            queue=queue,
            priority=[None, 0, 9, 4][i],
            countdown=[0, 60, 0, 3600][i],
            retry_of=[None, made[0]["id"] if made else None, None, None][i],
        )
        row["display_name"] = [None, 'weekly, "big" run', None, "x" * 200][i]
        made.append(row)
    rows.jobs_insert(made)
    stored = {str(k): v for k, v in Job.objects.in_bulk([r["id"] for r in made]).items()}
    for row in made:
        job = stored[str(row["id"])]
        for column in ("task", "queue", "state", "priority", "kwargs", "display_name", "max_attempts"):
            assert getattr(job, column) == row[column], column
        assert job.scheduled_at == row["scheduled_at"] and job.enqueued_at == now
        assert str(job.retry_of or "") == str(row["retry_of"] or "")
        assert job.attempt == 0 and job.deferrals == 0 and job.args == []
    assert [stored[str(r["id"])].state for r in made] == ["queued", "scheduled", "queued", "scheduled"]


def test_a_value_too_long_for_its_column_is_refused_not_cut():
    row = counted_job.job_row((), {"n": 1}, now=timezone.now())
    long = dict(row, id=rows.new_ids(1)[0], display_name="y" * 201)
    with pytest.raises(Exception, match="too long"):
        rows.jobs_insert([row, long])
    assert not Job.objects.exists()


def test_a_batch_postgresql_refuses_stores_and_publishes_none_of_it():
    """One row in a hundred breaks a constraint: the statement fails as a whole, no message is
    pushed, the broker connection goes back, and the next enqueue goes through."""
    with connection.cursor() as cur:
        cur.execute(
            "ALTER TABLE jobs_job ADD CONSTRAINT test_no_13 CHECK ((kwargs->>'n') IS DISTINCT FROM '13')"
        )
    try:
        with pytest.raises(IntegrityError):
            enqueue_many(counted_job, [{"n": n} for n in range(100)])
        assert not Job.objects.exists()
        assert queue_depth("default") == 0
        assert not publish.publish_pool()._dirty
        assert len(enqueue_many(counted_job, [{"n": n} for n in range(14, 20)])) == 6
        assert queue_depth("default") == 6
    finally:
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE jobs_job DROP CONSTRAINT test_no_13")


def test_inside_a_transaction_the_batch_is_published_at_commit_and_not_at_rollback():
    with transaction.atomic():
        enqueue_many(counted_job, [{"n": n} for n in range(50)])
        assert Job.objects.count() == 50 and queue_depth("default") == 0
    assert queue_depth("default") == 50
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_many(counted_job, [{"n": n} for n in range(50, 80)])
        raise RuntimeError("rolled back")
    assert Job.objects.count() == 50 and queue_depth("default") == 50


def test_bad_arguments_anywhere_in_a_batch_are_refused_before_anything_is_stored():
    for bad, error in (({"n": float("nan")}, TypeError), ({"n": object()}, TypeError), ({"m": 1}, TypeError)):
        with pytest.raises(error):
            enqueue_many(counted_job, [{"n": 1}, bad, {"n": 2}])
    with pytest.raises(ValueError, match="max_attempts"):
        enqueue_many(counted_job, [{"n": 1}], max_attempts=-1)
    assert not Job.objects.exists() and queue_depth("default") == 0


def test_a_worker_runs_every_job_of_a_bulk_enqueue_once_with_its_real_arguments(celery_worker):
    enqueue_many(counted_job, [{"n": n} for n in range(200)])
    texts = [f"token-{i} \x00 ü" for i in range(20)]
    enqueue_many(sensitive_effect_job, [{"text": t, "channel": "C1"} for t in texts])
    done = Job.objects.filter(state=JobState.SUCCEEDED).count
    wait_for(lambda: done() == 220, timeout=60, message="every bulk job ran")
    client = redis.Redis.from_url(settings.REDIS_URL)
    runs = Counter(int(n) for n in client.lrange("test:counted_runs", 0, -1))
    assert runs == Counter(range(200))
    seen = sorted(x.decode() for x in client.lrange("test:sensitive_runs", 0, -1))
    assert seen == sorted(hashlib.sha256(t.encode()).hexdigest() for t in texts)
    assert not Job.objects.filter(kwargs__text__startswith="token").exists()

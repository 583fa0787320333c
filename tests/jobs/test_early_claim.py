"""A solo worker's early claim (jobs/core/early.py): sent as a message arrives, read once kombu
has recorded it in Redis, taken by the job when it starts; given back when its job does not.

The in-process tests take each message from Redis through kombu's own consumer path (our
transport's QoS, as a worker's consumer does) after the layer published it; the integration
tests run real solo workers."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery import current_app
from celery.concurrency.solo import TaskPool as SoloPool
from celery.worker import state as worker_state
from django.db import connection, connections
from django.utils import timezone

from jobs.broker import MARKER
from jobs.core import early
from jobs.models import Job, JobState
from tests.helpers import free_port, wait_for
from tests.jobs.chaos_control_tasks import CHAOS_ENV, chaos_list, chaos_mark_job
from tests.jobs.tasks import noop_job

HOST = "early@test"
EARLY_ENV = {**CHAOS_ENV, "JOBS_EARLY_CLAIM": "1"}


@pytest.fixture
def solo_node(transactional_db, settings) -> Iterator[None]:
    """This process as a solo worker node after worker_ready, claiming early."""
    settings.JOBS_EARLY_CLAIM = True
    early.install(SimpleNamespace(pool=SoloPool(), app=current_app, hostname=HOST))
    yield
    early.uninstall()
    worker_state.revoked.clear()


def _arrive() -> Any:
    """The next message of the default queue, taken as a worker's consumer takes it."""
    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(current_app.amqp.queues["default"])
        message = queue.get(timeout=5)
        message.ack()
    return message


def _row(job_id: str) -> Job:
    return Job.objects.get(pk=job_id)


def test_the_claim_is_made_as_kombu_takes_the_message_and_taken_when_the_job_starts(solo_node):
    job_id = noop_job.enqueue().job_id
    _arrive()
    row = _row(job_id)  # claimed before Celery saw the message
    assert (row.state, row.worker, row.attempt) == (JobState.STARTED, HOST, 1)

    claimed = early.early_claim_take(job_id)
    assert claimed is not None
    assert claimed.token == row.lease_token
    assert claimed.row[:2] == (1, row.max_attempts)
    assert early.early_claim_take(job_id) is None  # read once


def test_a_claim_whose_job_did_not_run_is_given_back_when_the_next_message_arrives(solo_node):
    dropped = noop_job.enqueue().job_id
    then = noop_job.enqueue().job_id
    _arrive()
    assert _row(dropped).state == JobState.STARTED
    _arrive()  # Celery dropped the first message after all: its job never started

    row = _row(dropped)
    assert (row.state, row.attempt, row.lease_token) == (JobState.QUEUED, 0, None)
    claimed = early.early_claim_take(then)
    assert claimed is not None and _row(then).lease_token == claimed.token


def test_a_job_that_starts_without_its_early_claim_gives_the_pending_one_back(solo_node):
    pending = noop_job.enqueue().job_id
    _arrive()
    assert _row(pending).state == JobState.STARTED

    assert early.early_claim_take("00000000-0000-0000-0000-000000000001") is None
    row = _row(pending)
    assert (row.state, row.attempt) == (JobState.QUEUED, 0)


def test_a_claim_that_finds_nothing_to_claim_leaves_the_verdict_to_the_job(solo_node):
    job_id = noop_job.enqueue().job_id
    Job.objects.filter(pk=job_id).update(state=JobState.CANCELLED)
    _arrive()
    assert early.early_claim_take(job_id) is None  # the delivery asks again and drops it
    assert _row(job_id).state == JobState.CANCELLED


@pytest.mark.parametrize(
    "case",
    ["eta", "expires", "revoked", "celery_rate_limit", "not_published_by_the_layer", "switched_off"],
)
def test_messages_celery_may_hold_or_drop_are_claimed_as_before(solo_node, case, monkeypatch, settings):
    soon = timezone.now() + timedelta(seconds=60)
    options: dict[str, Any] = (
        {"eta": soon} if case == "eta" else {"expires": soon} if case == "expires" else {}
    )
    headers = {} if case == "not_published_by_the_layer" else {MARKER: 1}
    job_id = str(current_app.send_task(noop_job.name, queue="default", headers=headers, **options).id)
    Job.objects.create(id=job_id, task=noop_job.name, queue="default", state=JobState.QUEUED)
    if case == "revoked":
        worker_state.revoked.add(job_id)
    if case == "celery_rate_limit":
        monkeypatch.setattr(noop_job, "rate_limit", "1/s")
    if case == "switched_off":
        early.uninstall()
        settings.JOBS_EARLY_CLAIM = False
        early.install(SimpleNamespace(pool=SoloPool(), app=current_app, hostname=HOST))
    _arrive()
    assert early.early_claim_take(job_id) is None
    assert _row(job_id).state == JobState.QUEUED


def test_a_worker_of_another_pool_claims_when_the_job_starts(transactional_db, settings):
    settings.JOBS_EARLY_CLAIM = True
    early.install(SimpleNamespace(pool=object(), app=current_app, hostname=HOST))  # prefork, threads
    try:
        job_id = noop_job.enqueue().job_id
        _arrive()
        assert _row(job_id).state == JobState.QUEUED
    finally:
        early.uninstall()  # had it installed, later tests would claim early


def test_a_database_that_does_not_answer_pauses_early_claims_and_jobs_claim_as_before(
    solo_node, monkeypatch, caplog
):
    first, second = noop_job.enqueue().job_id, noop_job.enqueue().job_id
    with monkeypatch.context() as m:  # the database goes away: nothing listens where it was
        m.setitem(connections.settings["default"], "PORT", str(free_port()))
        connection.close()
        _arrive()
    assert "early claim not made" in caplog.text
    assert early.early_claim_take(first) is None
    _arrive()  # the database answers again, but within the pause nothing is tried
    assert early.early_claim_take(second) is None
    assert {_row(first).state, _row(second).state} == {JobState.QUEUED}


# -- real solo workers -----------------------------------------------------------------------------
@pytest.mark.integration
def test_a_solo_worker_that_claims_early_runs_each_job_once(worker_process):
    worker_process("early", queues=["default"], concurrency=1, pool="solo", **EARLY_ENV)
    ids = [chaos_mark_job.enqueue(key="early", n=i).job_id for i in range(40)]
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == 40,
        timeout=60,
        message="40 jobs run",
    )
    assert sorted(chaos_list("chaos:runs:early"), key=int) == [str(i) for i in range(40)]
    assert set(Job.objects.filter(pk__in=ids).values_list("attempt", flat=True)) == {1}


@pytest.mark.integration
def test_a_message_celery_cannot_read_gives_its_early_claim_back(worker_process, settings):
    """A job whose message is damaged in the broker: Celery drops it after the early claim was
    made; the next message's arrival gives the claim back (queued, its attempt not counted) and
    the layer publishes the job again whole (here within a second: the reconciler finds it
    published before Redis's epoch, or JOBS_REPUBLISH_AFTER=1 with its queue empty), so it runs
    once, as attempt 1."""
    damaged = chaos_mark_job.enqueue(key="damaged", n=1).job_id
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = next(k for k in client.scan_iter(b"default*") if client.type(k) == b"list")
    raw = json.loads(client.rpop(key))
    raw["body"] = base64.b64encode(b'[["unterminated').decode()
    client.rpush(key, json.dumps(raw))

    env = {**EARLY_ENV, "JOBS_REPUBLISH_AFTER": "1"}
    worker = worker_process("early-damaged", queues=["default"], concurrency=1, pool="solo", **env)
    after = chaos_mark_job.enqueue(key="after", n=2).job_id
    wait_for(lambda: _row(after).state == JobState.SUCCEEDED, timeout=30, message="the next job run")
    wait_for(lambda: _row(damaged).state == JobState.SUCCEEDED, timeout=30, message="the job run whole")
    assert _row(damaged).attempt == 1  # the dropped delivery's claim was not counted
    assert chaos_list("chaos:runs:damaged") == ["1"]
    given_back = [line for line in worker.read_log().splitlines() if "early claim given back" in line]
    assert len(given_back) == 1 and damaged in given_back[0]

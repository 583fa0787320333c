"""A solo worker's early claim (jobs/core/early.py): sent as a message arrives, read once kombu
has recorded it in Redis, taken by the job when it starts; given back as soon as Celery's handling
of a message returns without starting its job.

The in-process tests take each message from Redis through kombu's own consumer path (our
transport's QoS and delivery callback, as a worker's consumer does) after the layer published it,
and run what a solo worker would run inside that callback; the integration tests run real solo
workers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
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


def _arrive(handle: Callable[[Any], Any] = lambda message: None) -> Any:
    """Take the next message of the default queue as a worker's consumer takes it, and return what
    `handle` (a solo worker's handling of it: the job runs inside kombu's callback) returned."""
    handled: list[Any] = []

    def on_message(message: Any) -> None:
        handled.append(handle(message))
        message.ack()

    with current_app.connection_for_read() as conn:
        with conn.Consumer(current_app.amqp.queues["default"], on_message=on_message):
            conn.drain_events(timeout=5)
    assert len(handled) == 1
    return handled[0]


def _take(job_id: str) -> Callable[[Any], Any]:
    """A job starting: it takes its early claim."""
    return lambda message: early.early_claim_take(job_id)


def _row(job_id: str) -> Job:
    return Job.objects.get(pk=job_id)


def test_the_claim_is_made_as_kombu_takes_the_message_and_taken_when_the_job_starts(solo_node):
    job_id = noop_job.enqueue().job_id

    def start(message: Any) -> tuple:
        row = _row(job_id)  # claimed before Celery saw the message
        return row, early.early_claim_take(job_id), early.early_claim_take(job_id)

    row, claimed, again = _arrive(start)
    assert (row.state, row.worker, row.attempt) == (JobState.STARTED, HOST, 1)
    assert claimed is not None
    assert claimed.token == row.lease_token
    assert claimed.row[:2] == (1, row.max_attempts)
    assert again is None  # read once
    assert _row(job_id).state == JobState.STARTED  # the job's own: not given back


def test_a_claim_whose_job_did_not_start_is_given_back_when_celery_is_done_with_the_message(solo_node):
    dropped = noop_job.enqueue().job_id
    state_inside = _arrive(lambda message: _row(dropped).state)  # Celery dropped it: no job ran
    assert state_inside == JobState.STARTED

    row = _row(dropped)  # no further message needed
    assert (row.state, row.attempt, row.lease_token) == (JobState.QUEUED, 0, None)
    then = noop_job.enqueue().job_id
    claimed = _arrive(_take(then))
    assert claimed is not None and _row(then).lease_token == claimed.token


def test_a_job_that_starts_without_its_early_claim_gives_the_pending_one_back(solo_node):
    pending = noop_job.enqueue().job_id

    def other_job_starts(message: Any) -> tuple:
        before = _row(pending).state
        early.early_claim_take("00000000-0000-0000-0000-000000000001")
        return before, _row(pending)

    before, row = _arrive(other_job_starts)
    assert before == JobState.STARTED
    assert (row.state, row.attempt) == (JobState.QUEUED, 0)


def test_a_claim_that_finds_nothing_to_claim_leaves_the_verdict_to_the_job(solo_node):
    job_id = noop_job.enqueue().job_id
    Job.objects.filter(pk=job_id).update(state=JobState.CANCELLED)
    assert _arrive(_take(job_id)) is None  # the delivery asks again and drops it
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
    assert _arrive(_take(job_id)) is None
    assert _row(job_id).state == JobState.QUEUED


def test_a_worker_of_another_pool_claims_when_the_job_starts(transactional_db, settings):
    settings.JOBS_EARLY_CLAIM = True
    early.install(SimpleNamespace(pool=object(), app=current_app, hostname=HOST))  # prefork, threads
    try:
        job_id = noop_job.enqueue().job_id
        assert _arrive(lambda message: _row(job_id).state) == JobState.QUEUED
    finally:
        early.uninstall()  # had it installed, later tests would claim early


def test_a_database_that_does_not_answer_pauses_early_claims_and_jobs_claim_as_before(
    solo_node, monkeypatch, caplog
):
    first, second = noop_job.enqueue().job_id, noop_job.enqueue().job_id
    with monkeypatch.context() as m:  # the database goes away: nothing listens where it was
        m.setitem(connections.settings["default"], "PORT", str(free_port()))
        connection.close()
        assert _arrive(_take(first)) is None
    assert "early claim not made" in caplog.text
    assert _arrive(_take(second)) is None  # the database answers again; within the pause, no try
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
    made, and the claim is given back as Celery's handling returns (queued, its attempt not
    counted) with no further message to arrive; the layer publishes the job again whole (here
    within a second or two: the reconciler finds it published before Redis's epoch, or
    JOBS_REPUBLISH_AFTER=1 with its queue empty), so it runs once, as attempt 1."""
    damaged = chaos_mark_job.enqueue(key="damaged", n=1).job_id
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = next(k for k in client.scan_iter(b"default*") if client.type(k) == b"list")
    raw = json.loads(client.rpop(key))
    raw["body"] = base64.b64encode(b'[["unterminated').decode()
    client.rpush(key, json.dumps(raw))

    env = {**EARLY_ENV, "JOBS_REPUBLISH_AFTER": "1"}
    worker = worker_process("early-damaged", queues=["default"], concurrency=1, pool="solo", **env)
    wait_for(lambda: _row(damaged).state == JobState.SUCCEEDED, timeout=30, message="the job run whole")
    assert _row(damaged).attempt == 1  # the dropped delivery's claim was not counted
    assert chaos_list("chaos:runs:damaged") == ["1"]
    given_back = [line for line in worker.read_log().splitlines() if "early claim given back" in line]
    assert len(given_back) == 1 and damaged in given_back[0]

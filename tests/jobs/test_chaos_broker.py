"""The broker forgets: its queue's messages vanish while the job table still says "queued".

- The queue's lists are gone from a Redis that kept the rest of its memory (a failover to a
  replica that missed them, an operator's DEL), or a RabbitMQ queue is purged: the reconciler
  republishes every job published long ago into an empty queue (before: 300 of 300 never ran).
- A publisher whose clock runs 2 s ahead enqueues, and Redis restarts empty right after: the
  reconciler's epoch check, on the database's clock, republishes them long before the
  "published long ago" net (JOBS_REPUBLISH_AFTER=600) could.

Every job must run, and none twice. Real worker subprocesses; the enqueuer is another process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from tests.helpers import wait_for
from tests.jobs.chaos import (
    FAST,
    Broker,
    broker_under_test,
    enqueue_elsewhere,
    lost_and_doubled,
    settle,
    worker_ready,
)
from tests.jobs.test_redis_restart import PrivateRedis

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Parametrized indirectly with "redis" or "rabbitmq"."""
    with broker_under_test(request.param) as b:
        yield b


@pytest.mark.parametrize(
    ("broker", "count"),
    [("redis", 300), pytest.param("rabbitmq", 100, id="rabbitmq")],
    indirect=["broker"],
)
def test_a_broker_that_forgets_its_queue_loses_no_job(worker_process, broker, count):
    from tests.conftest import worker_env

    env = dict(FAST, JOBS_REPUBLISH_AFTER="3", JOBS_RECONCILE_EVERY="1", **broker.env)
    names = (f"lq1{broker.kind}", f"lq2{broker.kind}")
    # The service has been running: a reconciler has stamped the broker's epoch, so only what
    # the broker says about its queue (not "Redis came back empty") can reveal the loss.
    first = worker_process(names[0], queues=["default"], concurrency=1, ready=False, **env)
    worker_ready(first)
    epoch = f"{settings.JOBS_KEY_PREFIX}:epoch"
    wait_for(lambda: redis.Redis.from_url(settings.REDIS_URL).exists(epoch), message="the epoch stamped")
    first.stop()

    ids = enqueue_elsewhere(worker_env(**broker.env), count, seconds=0)  # no worker consumes now
    assert broker.depth() == count
    assert broker.lose() == count  # the broker forgot every message; the table still says queued
    assert broker.depth() == 0

    workers = [worker_process(n, queues=["default"], concurrency=2, ready=False, **env) for n in names]
    for w in workers:
        worker_ready(w)

    states = settle(ids, timeout=45)
    lost, doubled = lost_and_doubled(count)
    figures = f"{len(lost)} lost {lost[:10]}, {len(doubled)} doubled {doubled[:10]}, states {states}"
    assert not lost, figures
    assert not doubled, figures
    assert states == {"succeeded": count}, figures


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """Asked for before `worker_process`, so the workers stop before their Redis does."""
    r = PrivateRedis()
    r.start()
    yield r
    r.stop()


def test_jobs_of_a_publisher_whose_clock_runs_ahead_survive_a_redis_restart(private_redis, worker_process):
    from tests.conftest import worker_env

    count = 300
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    # Only the epoch check can save what Redis forgot: the "published long ago" net is 10 min away.
    env = dict(
        FAST,
        REDIS_URL=url,
        CHAOS_RUNS_URL=settings.REDIS_URL,  # the run count survives the broker's restart
        JOBS_REPUBLISH_AFTER="600",
        JOBS_RECONCILE_EVERY="0.2",
    )
    worker_ready(worker_process("skew", queues=["default"], concurrency=2, ready=False, **env))

    def restart() -> None:  # SIGKILL right after the last publish: every message it held is gone
        private_redis.stop()
        private_redis.start()  # back, empty

    ids = enqueue_elsewhere(worker_env(**env), count, seconds=0.05, clock_ahead=2.0, then=restart)

    states = settle(ids, timeout=45)
    lost, doubled = lost_and_doubled(count)
    figures = f"{len(lost)} lost {lost[:10]}, {len(doubled)} doubled {doubled[:10]}, states {states}"
    assert not lost, figures
    assert not doubled, figures
    assert states == {"succeeded": count}, figures

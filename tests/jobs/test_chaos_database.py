"""PostgreSQL cut from the workers mid-drain: a TCP proxy between the workers and the database
closes every connection and refuses new ones for 15 s, then lets them through again. The test
process keeps talking to PostgreSQL directly. Every job must run, and none twice: a delivery
whose claim cannot reach the database goes back to the broker (before the redesign Celery acked
it when the claim raised, and 194-236 of 300 jobs never ran).

Real worker subprocesses on Redis, and on RabbitMQ (a vhost of the test's own)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from tests.helpers import wait_for
from tests.jobs.chaos import (
    FAST,
    Broker,
    broker_under_test,
    enqueue_elsewhere,
    lost_and_doubled,
    runs,
    settle,
    worker_ready,
)
from tests.proxy import TcpProxy

pytestmark = pytest.mark.integration
CUT = 15.0  # seconds the database is away from the workers


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Parametrized indirectly with "redis" or "rabbitmq"."""
    with broker_under_test(request.param) as b:
        yield b


@pytest.fixture
def db_proxy():
    proxy = TcpProxy(int(settings.DATABASES["default"]["PORT"] or 5432)).start()
    yield proxy
    proxy.stop()


def _database_url(port: int) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{port}/{db['NAME']}"


@pytest.mark.parametrize(
    ("broker", "count"),
    [("redis", 300), pytest.param("rabbitmq", 100, id="rabbitmq")],
    indirect=["broker"],
)
def test_database_cut_from_the_workers_mid_drain_loses_no_job_and_runs_none_twice(
    worker_process, db_proxy, broker, count
):
    from tests.conftest import worker_env

    # The reconciler's "published long ago, never claimed" net is out of reach: only the path
    # of each delivery (requeue, lease rescue) can save a job here.
    env = dict(FAST, JOBS_REPUBLISH_AFTER="600", DATABASE_URL=_database_url(db_proxy.port), **broker.env)
    workers = [
        worker_process(name, queues=["default"], concurrency=2, ready=False, **env)
        for name in (f"cut1{broker.kind}", f"cut2{broker.kind}")
    ]
    for w in workers:
        worker_ready(w)
    with ThreadPoolExecutor(1) as pool:  # the enqueuer talks to PostgreSQL directly, uncut
        enqueuing = pool.submit(enqueue_elsewhere, worker_env(**broker.env), count, seconds=0.1)
        wait_for(lambda: sum(runs().values()) >= 10, timeout=60, message="the drain began")
        db_proxy.cut()
        ran_before_cut = sum(runs().values())
        time.sleep(CUT)
        db_proxy.restore()
        ids = enqueuing.result()

    states = settle(ids, timeout=40)
    lost, doubled = lost_and_doubled(count)
    figures = (
        f"{len(lost)} lost {lost[:10]}, {len(doubled)} doubled {doubled[:10]}, states {states}, "
        f"{ran_before_cut} runs before the cut"
    )
    assert ran_before_cut < count, f"the cut came after the drain ended: {figures}"
    assert db_proxy.accepted > 0  # the workers did talk to PostgreSQL through the proxy
    assert not lost, figures
    assert not doubled, figures
    assert states == {"succeeded": count}, figures
    for w in workers:
        assert w.proc.poll() is None, "a worker must survive its database going away"

"""A solo node holds the layer's unacked messages in its memory, not in kombu's Redis hash
(jobs/broker/transport.py): the job table decides what a lost message becomes.

The in-process tests take each message from Redis through kombu's own consumer path (our
transport's QoS, as a worker's consumer takes it) after the layer or Celery published it, in a
process set up as a solo node is at worker_ready; what a worker does with it (ack, reject with
requeue, close at a warm shutdown, die) is done to it here. The last test runs real solo and
prefork workers. Real Redis and PostgreSQL; nothing of ours is replaced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from celery import current_app
from django.conf import settings

from jobs.broker import transport
from jobs.broker.depth import queue_depth
from jobs.conf import conf
from jobs.models import Job, JobState
from jobs.plugins.reconciler import reconcile
from jobs.table import clock
from tests.helpers import wait_for
from tests.jobs.tasks import noop_job, slow_effect_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def solo_node() -> Iterator[None]:
    """This process holds layer messages as a solo node does after worker_ready."""
    transport.hold_in_memory(True)
    yield
    transport.hold_in_memory(False)


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    queues = client.keys("default*")
    client.delete("unacked", "unacked_index", *queues)
    yield client
    client.delete("unacked", "unacked_index", *client.keys("default*"))


def _take(handle: Callable[[Any, redis.Redis], Any], *, close: Callable[[Any], None] | None = None) -> Any:
    """The next message of the default queue, as a worker's consumer takes it; `handle` runs
    while it is delivered and unacked, and decides what happens to it."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    handled: list[Any] = []
    with current_app.connection_for_read() as conn:
        consumer = conn.Consumer(
            current_app.amqp.queues["default"], on_message=lambda m: handled.append(handle(m, client))
        )
        with consumer:
            conn.drain_events(timeout=5)
            if close is not None:
                close(consumer)
    assert len(handled) == 1
    return handled[0]


def _recorded_in_redis(message: Any, client: redis.Redis) -> bool:
    return (
        bool(client.hexists("unacked", message.delivery_tag))
        or client.zscore("unacked_index", message.delivery_tag) is not None
    )


def test_a_layer_message_is_held_in_memory_and_a_plain_celery_message_in_redis(solo_node):
    job_id = noop_job.enqueue().job_id

    def held(message: Any, client: redis.Redis) -> tuple:
        held_here = message.delivery_tag in message.channel.qos._delivered
        seen = (message.headers["id"], _recorded_in_redis(message, client), held_here)
        message.ack()
        return seen

    assert _take(held) == (job_id, False, True)

    current_app.send_task("tests.not_a_job", queue="default")  # Celery's own message: kombu's record

    def plain(message: Any, client: redis.Redis) -> tuple:
        during = _recorded_in_redis(message, client)
        message.ack()
        return during, _recorded_in_redis(message, client)

    assert _take(plain) == (True, False)


def test_a_node_that_does_not_hold_in_memory_gives_layer_messages_kombus_record():
    """A prefork or threads node, or JOBS_BROKER_UNACKED (lifecycle leaves the hold off)."""
    noop_job.enqueue()

    def recorded(message: Any, client: redis.Redis) -> tuple:
        during = _recorded_in_redis(message, client)
        message.ack()
        return during, _recorded_in_redis(message, client)

    assert _take(recorded) == (True, False)


def test_a_layer_message_rejected_with_requeue_goes_back_to_its_list_marked_redelivered(solo_node):
    job_id = noop_job.enqueue().job_id

    def reject(message: Any, client: redis.Redis) -> bool:
        message.reject(requeue=True)
        return bool(message.delivery_info.get("redelivered"))

    assert _take(reject) is False
    assert queue_depth("default") == 1

    def again(message: Any, client: redis.Redis) -> tuple:
        message.ack()
        redelivered = message.delivery_info.get("redelivered")
        return message.headers["id"], redelivered, _recorded_in_redis(message, client)

    assert _take(again) == (job_id, True, False)
    assert queue_depth("default") == 0
    assert Job.objects.get(pk=job_id).state == JobState.QUEUED  # nothing decided by the broker


def test_layer_messages_still_held_when_the_channel_closes_go_back_to_their_list(solo_node):
    """A warm shutdown: kombu restores what the worker held and had not run."""
    job_id = noop_job.enqueue().job_id
    assert _take(lambda message, client: message.headers["id"]) == job_id  # taken, never acked
    assert queue_depth("default") == 1

    def run(message: Any, client: redis.Redis) -> str:
        message.ack()
        return message.headers["id"]

    assert _take(run) == job_id
    assert queue_depth("default") == 0


def test_a_layer_message_lost_with_its_worker_is_published_again_by_the_job_table(solo_node, _clean_redis):
    """A worker killed after it took the message and before its claim: nothing of it is left in
    Redis (no list entry, no unacked record); the row still says queued, and the reconciler
    publishes it again once JOBS_REPUBLISH_AFTER has passed with the queue empty."""
    reconcile()  # Redis's epoch known before the enqueue: this is not a Redis that came back empty
    job_id = noop_job.enqueue().job_id

    def die(consumer: Any) -> None:  # a SIGKILLed process restores nothing
        consumer.channel.do_restore = False

    assert _take(lambda message, client: message.headers["id"], close=die) == job_id
    assert queue_depth("default") == 0
    assert _clean_redis.hlen("unacked") == 0
    assert Job.objects.get(pk=job_id).state == JobState.QUEUED

    now = clock.db_now()
    assert reconcile(now) == 0  # published a moment ago: it may still be on its way
    later = now + timedelta(seconds=conf().republish_after + 1)
    assert reconcile(later) == 1
    assert queue_depth("default") == 1

    def run(message: Any, client: redis.Redis) -> str:
        message.ack()
        return message.headers["id"]

    assert _take(run) == job_id


@pytest.mark.integration
@pytest.mark.parametrize(("pool", "in_redis"), [("solo", False), ("prefork", True)])
def test_a_running_jobs_message_is_in_kombus_hash_only_on_a_prefork_node(
    worker_process, settings, pool: str, in_redis: bool
):
    worker_process(
        f"held-{pool}", queues=["default"], concurrency=1, pool=pool, CELERY_EXTRA_IMPORTS="tests.jobs.tasks"
    )
    job = slow_effect_job.enqueue(key=f"held-{pool}", seconds=2)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.STARTED).exists(), 20, message="job started"
    )
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.hlen("unacked") == (1 if in_redis else 0)
    wait_for(
        lambda: Job.objects.filter(pk=job.job_id, state=JobState.SUCCEEDED).exists(), 20, message="job done"
    )
    assert client.hlen("unacked") == 0

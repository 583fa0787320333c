"""jobs.broker.transport: kombu's Redis transport with its reconnect crash fixed.

When a worker loses Redis, Celery's consumer runs `Connection.collect()`, which takes the transport
apart, and then `Connection.close()`. When the first close of a channel was cut short, the second
one restores the channel's unacked messages through a transport that is gone. The test builds that
state directly (the race that leads to it needs Redis to die while an ack is in flight, under
load); kombu's own transport raises AttributeError there, which Celery reports as "Unrecoverable
error" and after which the worker consumes nothing (seen in test_broker_loss under load).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from kombu import Connection, Exchange, Message, Queue
from kombu.transport import redis as kombu_redis

from jobs.broker.transport import Transport
from project.celery import app

pytestmark = pytest.mark.integration


@pytest.fixture
def queue() -> Queue:
    name = f"transport-{uuid.uuid4().hex[:8]}"
    return Queue(name, Exchange(name), name)


@pytest.fixture(autouse=True)
def _no_leftovers(queue: Queue) -> Iterator[None]:
    yield
    redis.Redis.from_url(settings.REDIS_URL).delete("unacked", "unacked_index", queue.name)


def _taken_apart_with_one_unacked(transport: type, queue: Queue) -> tuple[Connection, list[Message]]:
    """A consumer holding one delivered, unacked message, whose transport `collect()` has detached
    while its channel is still open."""
    conn = Connection(settings.REDIS_URL, transport=transport)
    with conn.Producer() as producer:
        producer.publish({"n": 1}, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])
    got: list[Message] = []
    conn.Consumer([queue], callbacks=[lambda body, message: got.append(message)]).consume()
    conn.drain_events(timeout=5)
    assert len(got) == 1
    conn._do_close_transport()  # what collect() does after its own close of the channels failed
    return conn, got


def test_kombus_own_transport_crashes_on_that_close(queue: Queue) -> None:
    """The upstream bug this module works around; when it fails, kombu fixed it (drop the fix)."""
    conn, _ = _taken_apart_with_one_unacked(kombu_redis.Transport, queue)
    with pytest.raises(AttributeError):
        conn.close()


def test_ours_closes_and_keeps_the_unacked_message_for_the_visibility_restore(queue: Queue) -> None:
    conn, got = _taken_apart_with_one_unacked(Transport, queue)
    conn.close()  # a connection error inside, absorbed as kombu absorbs any lost connection
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.hexists("unacked", got[0].delivery_tag)  # restored after the visibility timeout
    assert client.llen(queue.name) == 0  # not put back twice


def test_every_redis_connection_of_the_app_uses_it() -> None:
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, Transport)
        assert conn.as_uri().startswith("redis://")  # Flower's broker page parses this

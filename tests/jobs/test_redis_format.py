"""The Redis pipeline's hand-written messages (jobs.broker.redis_pipeline) pinned against the ones
Celery's own publish writes through kombu (issue 20).

kombu 5.7's `Producer.batch()` would write the messages for us, but measured slower than the
hand-written path (bench/jobs_batch.py, docs/PERFORMANCE.md), so the format stays ours. This test
is what keeps it in step: on a Celery or kombu upgrade that changes the message, it fails here
instead of a worker misreading jobs. For every priority 0-9 our message and Celery's must be equal
field by field (bar kombu's random delivery_tag and our marker header) and land in the same
list; and kombu's consumer, with Celery's worker request on top, must read ours as it reads
Celery's. (The worker tests, e.g. test_priorities_consumers, run jobs published this way.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app
from celery.worker.request import Request

from jobs.broker import MARKER, publish, redis_pipeline
from tests.jobs.tasks import counted_job, noop_job

pytestmark = pytest.mark.integration

QUEUE = "default"


def _spec(priority: int) -> dict[str, Any]:
    return {
        "id": "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
        "task": noop_job.name,
        "queue": QUEUE,
        "priority": priority,
        "args": [7, "invoice", {"amount": "12.50", "tags": ["a", "ü"]}],
        "kwargs": {"customer": 42, "note": None},
    }


@pytest.fixture
def conn() -> Iterator[Any]:
    with publish.publish_pool().acquire(block=True) as c:
        assert redis_pipeline.supported(c), "these tests pin kombu's Redis transport"
        yield c


def _ours(conn: Any, spec: dict[str, Any]) -> None:
    redis_pipeline.redis_publish_many(conn, [spec])


def _celerys(spec: dict[str, Any]) -> None:
    """What `send_task`/`apply_async` publish for the job: the options job_publish passes, without
    our marker header."""
    with current_app.producer_or_acquire() as producer:
        current_app.send_task(
            spec["task"],
            args=spec["args"],
            kwargs=spec["kwargs"],
            task_id=spec["id"],
            producer=producer,
            queue=spec["queue"],
            priority=spec["priority"],
            ignore_result=True,
            argsrepr=repr(spec["args"]),
            kwargsrepr=repr(spec["kwargs"]),
        )


def _landed(conn: Any) -> tuple[bytes, dict[str, Any]]:
    """The one message in the broker's lists, taken off, and the list it was in."""
    client = conn.default_channel.client
    lists = [k for k in client.scan_iter(count=1000) if client.type(k) == b"list"]
    assert len(lists) == 1, lists
    assert client.llen(lists[0]) == 1
    return lists[0], json.loads(client.rpop(lists[0]))


def _without_random(message: dict[str, Any]) -> dict[str, Any]:
    """The message bar its delivery_tag (kombu: a fresh uuid4 per message), checked to be one."""
    properties = dict(message["properties"])
    uuid.UUID(properties.pop("delivery_tag"))
    return {**message, "properties": properties}


@pytest.mark.parametrize("priority", range(10))
def test_our_message_is_celerys_field_by_field_in_the_same_list(conn, priority):
    spec = _spec(priority)
    _ours(conn, spec)
    our_key, ours = _landed(conn)
    _celerys(spec)
    their_key, theirs = _landed(conn)

    assert our_key == their_key == conn.default_channel._q_for_pri(QUEUE, priority).encode()
    assert ours["headers"].pop(MARKER) == 1
    assert MARKER not in theirs["headers"]
    assert _without_random(ours) == _without_random(theirs)
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]


def _consume_one(conn: Any) -> Any:
    """One message off the queue by kombu's consumer as the worker sets it up (Celery's
    TaskConsumer on the declared queue), not by reading Redis."""
    got: list[Any] = []
    amqp = current_app.amqp
    with amqp.TaskConsumer(conn.default_channel, queues=[amqp.queues[QUEUE]], callbacks=[]) as consumer:
        consumer.register_callback(lambda _body, message: got.append(message))
        while not got:
            conn.drain_events(timeout=5)
    got[0].ack()
    return got[0]


def _as_worker_reads(message: Any) -> dict[str, Any]:
    request = Request(message, app=current_app, task=current_app.tasks[message.headers["task"]])
    headers = {k: v for k, v in message.headers.items() if k != MARKER}
    properties = {k: v for k, v in message.properties.items() if k != "delivery_tag"}
    return {
        "decoded": message.decode(),
        "headers": headers,
        "properties": properties,
        "delivery_info": {k: message.delivery_info.get(k) for k in ("exchange", "routing_key")},
        "content": (message.content_type, message.content_encoding),
        "request": (request.id, request.name, request.args, request.kwargs, request.ignore_result),
    }


def test_kombus_consumer_and_celerys_request_read_ours_as_celerys(conn):
    spec = _spec(4)
    _ours(conn, spec)
    ours = _consume_one(conn)
    _celerys(spec)
    theirs = _consume_one(conn)

    assert ours.headers[MARKER] == 1
    assert _as_worker_reads(ours) == _as_worker_reads(theirs)
    read = _as_worker_reads(ours)
    assert read["request"] == (spec["id"], spec["task"], spec["args"], spec["kwargs"], True)
    assert read["properties"]["priority"] == 4


def test_typed_arguments_stored_in_kombus_json_form_reach_the_worker_as_celerys_do(conn):
    """A job's stored arguments are kombu's JSON form (a datetime as {"__type__": …}); the
    hand-written message carries that form as it is, and the worker decodes it to the same
    values as from Celery's own message built from the real ones."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from jobs.table.payload import payload_build

    real_args = [datetime(2026, 12, 4, 17, 30, tzinfo=UTC), Decimal("12.50"), uuid.UUID(int=7)]
    real_kwargs = {"when": datetime(2027, 1, 1, tzinfo=UTC), "n": 3}
    stored = payload_build(real_args, real_kwargs)
    assert stored.shown_args[0] != real_args[0]  # stored as kombu's JSON form, not a datetime
    spec = {**_spec(4), "args": stored.shown_args, "kwargs": stored.shown_kwargs}
    _ours(conn, spec)
    ours = _consume_one(conn)
    _celerys({**spec, "args": real_args, "kwargs": real_kwargs})
    theirs = _consume_one(conn)
    assert ours.decode() == theirs.decode()
    assert ours.decode()[0] == real_args  # typed values again, not the stored dicts


def test_a_batch_of_two_tasks_builds_each_message_as_celery_would(conn):
    """In one pipeline the messages share a template per task name: a second task, other
    arguments and ids must not leak from the first one's."""
    first = {**_spec(2), "id": str(uuid.uuid4())}
    second = {**_spec(7), "id": str(uuid.uuid4()), "task": counted_job.name, "args": [], "kwargs": {"n": 5}}
    third = {**first, "id": str(uuid.uuid4()), "args": [1]}
    redis_pipeline.redis_publish_many(conn, [first, second, third])  # more than one: the pipeline
    ours = {m.headers["id"]: _as_worker_reads(m) for m in (_consume_one(conn) for _ in range(3))}
    for spec in (first, second, third):
        _celerys(spec)
        assert ours[spec["id"]] == _as_worker_reads(_consume_one(conn)), spec["task"]


def test_a_batchs_messages_carry_distinct_random_delivery_tags(conn):
    """kombu keys its unacked index on the delivery tag: two messages with one tag would leave one
    of them unrestorable. The batch draws its tags from one random read, so each must differ."""
    specs = [{**_spec(i % 10), "id": str(uuid.uuid4())} for i in range(40)]
    redis_pipeline.redis_publish_many(conn, specs)
    client = conn.default_channel.client
    lists = [k for k in client.scan_iter(count=1000) if client.type(k) == b"list"]
    tags = [json.loads(m)["properties"]["delivery_tag"] for k in lists for m in client.lrange(k, 0, -1)]
    client.delete(*lists)
    assert len(tags) == len(set(tags)) == 40
    assert {uuid.UUID(t).version for t in tags} == {4}


def test_a_batch_is_consumed_in_the_order_given_within_each_priority(conn):
    """One list's messages go in one LPUSH with many values: kombu's consumer must still take
    them first in, first out, as it would after one LPUSH per job, and each priority's own list
    must keep its order too (the batch mixes them: one LPUSH per list, in one pipeline)."""
    specs = [{**_spec((0, 0, 9, 0, 9, 9, 0)[i]), "id": str(uuid.uuid4()), "args": [i]} for i in range(7)]
    redis_pipeline.redis_publish_many(conn, specs)
    taken = [_consume_one(conn).headers["id"] for _ in specs]
    by_id = {s["id"]: s for s in specs}
    assert [by_id[i]["priority"] for i in taken] == [0, 0, 0, 0, 9, 9, 9]  # the urgent list first
    in_order = [s["id"] for s in specs if s["priority"] == 0] + [s["id"] for s in specs if s["priority"] == 9]
    assert taken == in_order

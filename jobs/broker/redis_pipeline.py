"""Many jobs onto a Redis broker in one pipeline: the messages Celery would send (built by
Celery's own `amqp.as_task_v2`), pushed as kombu's Redis transport stores them. A bulk enqueue
or the mover's batch costs one round trip per thousand jobs instead of one publish each.
Only for kombu's Redis transport; every other transport goes through the normal publish.

Why not kombu 5.7's own `Producer.batch()`, which pipelines the same way and writes the message
itself: through `send_task` it costs four times the CPU per job, and even fed Celery's message
directly a quarter more, for a third fewer jobs/s (bench/jobs_batch.py, docs/PERFORMANCE.md).
The price is this format to keep in step, which tests/jobs/test_redis_format.py pins against
Celery's for every priority."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from celery import current_app
from kombu.utils.json import dumps

from jobs.broker import MARKER
from jobs.table.payload import payload_real, reprs


def supported(conn: Any) -> bool:
    return getattr(conn.transport, "driver_type", "") == "redis"


def redis_publish_many(conn: Any, specs: list[dict[str, Any]], chunk: int = 1000) -> None:
    """Push every spec's message; raises when Redis did not take them (nothing is marked)."""
    amqp, channel = current_app.amqp, conn.default_channel
    client = _client(channel)
    if len(specs) == 1:  # a single enqueue: the push itself, without a pipeline's bookkeeping
        client.lpush(*_message(amqp, channel, specs[0]))
        return
    for i in range(0, len(specs), chunk):
        pipe = client.pipeline(transaction=False)
        for spec in specs[i : i + chunk]:
            pipe.lpush(*_message(amqp, channel, spec))
        pipe.execute()


def _client(channel: Any) -> Any:
    """One Redis client per pooled channel (kombu builds a new one per publish: ~0.2 ms each),
    sharing the channel's connection pool and key prefix."""
    client = channel.__dict__.get("_jobs_push_client")
    if client is None:
        client = channel.__dict__["_jobs_push_client"] = channel._create_client()
    return client


def _message(amqp: Any, channel: Any, spec: dict[str, Any]) -> tuple[str, str]:
    args, kwargs = payload_real(spec["args"], spec["kwargs"], None)
    shown = reprs(spec["args"], spec["kwargs"])
    # reply_to and the reprs among the properties as `send_task` has them (it passes the app's
    # thread oid, and its options go on to `publish` as properties): tests/jobs/test_redis_format.py.
    msg = amqp.as_task_v2(
        spec["id"], spec["task"], args, kwargs, ignore_result=True, reply_to=amqp.app.thread_oid, **shown
    )
    priority = spec.get("priority") or 0
    properties = {**msg.properties, **shown}
    properties.update(
        delivery_mode=2,
        delivery_info={"exchange": "", "routing_key": spec["queue"]},
        priority=priority,
        body_encoding="base64",
        delivery_tag=str(uuid.uuid4()),
    )
    message = {
        "body": base64.b64encode(dumps(msg.body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {**msg.headers, MARKER: 1},
        "properties": properties,
    }
    return channel._q_for_pri(spec["queue"], priority), dumps(message)

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
import os
import uuid
from typing import Any

from celery import current_app
from kombu.utils.json import dumps

from jobs.broker import MARKER
from jobs.table.payload import reprs
from jobs.table.rows import new_ids


def supported(conn: Any) -> bool:
    return getattr(conn.transport, "driver_type", "") == "redis"


def redis_publish_many(conn: Any, specs: list[dict[str, Any]], chunk: int = 1000) -> None:
    """Push every spec's message; raises when Redis did not take them (nothing is marked)."""
    channel = conn.default_channel
    client, build = _client(channel), _Messages(current_app.amqp, channel)
    tags = new_ids(len(specs))  # kombu's delivery tags, one random read for the batch
    if len(specs) == 1:  # a single enqueue: the push itself, without a pipeline's bookkeeping
        client.lpush(*build(specs[0], tags[0]))
        return
    for i in range(0, len(specs), chunk):
        pipe = client.pipeline(transaction=False)
        for spec, tag in zip(specs[i : i + chunk], tags[i : i + chunk], strict=True):
            pipe.lpush(*build(spec, tag))
        pipe.execute()


def _client(channel: Any) -> Any:
    """One Redis client per pooled channel (kombu builds a new one per publish: ~0.2 ms each),
    sharing the channel's connection pool and key prefix."""
    client = channel.__dict__.get("_jobs_push_client")
    if client is None:
        client = channel.__dict__["_jobs_push_client"] = channel._create_client()
    return client


class _Messages:
    """(list, message) of each spec as kombu's Redis transport stores what `send_task` sends.

    Celery's `amqp.as_task_v2` runs once per task name and process: two jobs of one task differ
    only in their id, arguments and the arguments' reprs, so the rest is copied (a third of a
    bulk enqueue's time went to building every message from scratch). The stored arguments are
    already in kombu's JSON form (jobs.table.payload), so they go into the body as they are.
    reply_to and the reprs among the properties as `send_task` has them (it passes the app's
    thread oid, and its options go on to `publish` as properties): tests/jobs/test_redis_format.py."""

    def __init__(self, amqp: Any, channel: Any) -> None:
        self.amqp, self.channel = amqp, channel

    def __call__(self, spec: dict[str, Any], tag: uuid.UUID) -> tuple[str, str]:
        headers, properties, embed = self._template(spec["task"])
        job_id, priority = spec["id"], spec.get("priority") or 0
        shown = reprs(spec["args"], spec["kwargs"])
        body = [spec["args"] or [], spec["kwargs"] or {}, embed]
        message = {
            "body": base64.b64encode(dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {**headers, "id": job_id, "root_id": job_id, **shown, MARKER: 1},
            "properties": {
                **properties,
                "correlation_id": job_id,
                **shown,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": spec["queue"]},
                "priority": priority,
                "body_encoding": "base64",
                "delivery_tag": str(tag),
            },
        }
        return self.channel._q_for_pri(spec["queue"], priority), dumps(message)

    def _template(self, task: str) -> tuple[dict, dict, dict]:
        reply_to = self.amqp.app.thread_oid
        key = (task, reply_to, os.getpid())  # Celery's origin names the process
        found = _templates.get(key)
        if found is None:
            msg = self.amqp.as_task_v2(
                "", task, [], {}, ignore_result=True, reply_to=reply_to, argsrepr="", kwargsrepr=""
            )
            found = _templates[key] = (msg.headers, msg.properties, msg.body[2])
        return found


# (task, reply_to, pid) -> Celery's message parts: built once per process, not once per enqueue
# (`as_task_v2` and its origin lookup were 7% of a single enqueue's CPU).
_templates: dict[tuple[str, str, int], tuple[dict, dict, dict]] = {}

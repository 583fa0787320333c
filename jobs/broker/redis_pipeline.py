"""Many jobs onto a Redis broker in one pipeline: the messages Celery would send (built by
Celery's own `amqp.as_task_v2`), pushed as kombu's Redis transport stores them. A bulk enqueue
or the mover's batch costs one round trip per thousand jobs instead of one publish each.
Only for kombu's Redis transport; every other transport goes through the normal publish.
The messages for one list go in one LPUSH with many values, which Redis documents as the same as
one LPUSH per value in that order (each pushed onto the head, so BRPOP still takes the first
first), at one command and one reply per list instead of one per job (`make bench ONLY=jobs_batch`).

Why not kombu 5.7's own `Producer.batch()`, which pipelines the same way and writes the message
itself: through `send_task` it costs four times the CPU per job, and even fed Celery's message
directly a quarter more, for a third fewer jobs/s (bench/jobs_batch.py, docs/PERFORMANCE.md).
The price is this format to keep in step, which tests/jobs/test_redis_format.py pins against
Celery's for every priority."""

from __future__ import annotations

import base64
import json
import os
import re
from json.encoder import encode_basestring_ascii
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
    redis_push(conn, redis_messages(conn, specs, chunk))


Chunks = list[dict[str, list[str]]]  # per chunk of jobs: each list's messages, in order


def redis_messages(conn: Any, specs: list[dict[str, Any]], chunk: int = 1000) -> Chunks:
    """The specs' messages, by chunk and list, ready for `redis_push` (nothing sent yet)."""
    build = _Messages(current_app.amqp, conn.default_channel)
    tags = new_ids(len(specs))  # kombu's delivery tags (a uuid4's text), one random read
    chunks: Chunks = []
    for i in range(0, len(specs), chunk):
        lists: dict[str, list[str]] = {}
        for spec, tag in zip(specs[i : i + chunk], tags[i : i + chunk], strict=True):
            key, message = build(spec, tag)
            lists.setdefault(key, []).append(message)
        chunks.append(lists)
    return chunks


def redis_push(conn: Any, chunks: Chunks) -> None:
    """Each chunk as one LPUSH per list it touches, those in one pipeline; raises when Redis did
    not take them."""
    client = _client(conn.default_channel)
    for lists in chunks:
        if len(lists) == 1:  # one queue and priority (a single enqueue, most batches): one command
            ((key, messages),) = lists.items()
            client.lpush(key, *messages)
            continue
        pipe = client.pipeline(transaction=False)
        for key, messages in lists.items():
            pipe.lpush(key, *messages)
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
    thread oid, and its options go on to `publish` as properties): tests/jobs/test_redis_format.py.

    The message's JSON is written once per task, queue and priority with a slot where each job's
    own values go (`_frame`), and each job's message is that text with its values filled in: JSON
    encoding the whole message per job was two thirds of the build (`make bench ONLY=jobs_batch`)."""

    def __init__(self, amqp: Any, channel: Any) -> None:
        self.amqp, self.channel = amqp, channel
        # Celery's origin: this thread's reply_to and the process; once per batch, not per message.
        self.reply_to, self.pid = amqp.app.thread_oid, os.getpid()

    def __call__(self, spec: dict[str, Any], tag: str) -> tuple[str, str]:
        queue, priority = spec["queue"], spec.get("priority") or 0
        key, literals, slots, embed = self._frame(spec["task"], queue, priority)
        # [args, kwargs] in one dumps, the embed appended: the body Celery writes, one call less.
        body = f"{json.dumps([spec['args'] or [], spec['kwargs'] or {}])[:-1]}, {embed}]"
        shown = reprs(spec["args"], spec["kwargs"])
        values = (
            f'"{base64.b64encode(body.encode()).decode()}"',
            _string(str(spec["id"])),
            _string(shown["argsrepr"]),
            _string(shown["kwargsrepr"]),
            f'"{tag}"',
        )
        pieces = [""] * (2 * len(slots) + 1)  # literal, value, literal, …, literal
        pieces[0::2] = literals
        pieces[1::2] = [values[i] for i in slots]
        return key, "".join(pieces)

    def _frame(self, task: str, queue: str, priority: int) -> Frame:
        """(list, the message's JSON cut at its slots, which value goes in each, the embed)."""
        key = (task, queue, priority, self.reply_to, self.pid)
        found = _frames.get(key)
        if found is None:
            msg = self.amqp.as_task_v2(
                "", task, [], {}, ignore_result=True, reply_to=self.reply_to, argsrepr="", kwargsrepr=""
            )
            slot = {name: f"\x00{name}\x00" for name in _VALUES}
            shown = {"argsrepr": slot["argsrepr"], "kwargsrepr": slot["kwargsrepr"]}
            message = {
                "body": slot["body"],
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": {**msg.headers, "id": slot["id"], "root_id": slot["id"], **shown, MARKER: 1},
                "properties": {
                    **msg.properties,
                    "correlation_id": slot["id"],
                    **shown,
                    "delivery_mode": 2,
                    "delivery_info": {"exchange": "", "routing_key": queue},
                    "priority": priority,
                    "body_encoding": "base64",
                    "delivery_tag": slot["tag"],
                },
            }
            parts = _SLOT.split(dumps(message))  # literal, slot name, literal, …
            slots = tuple(_VALUES.index(name) for name in parts[1::2])
            lists = self.channel._q_for_pri(queue, priority)
            found = _frames[key] = (lists, tuple(parts[0::2]), slots, dumps(msg.body[2]))
        return found


# (task, queue, priority, reply_to, pid) -> Frame: built once per process, not once per enqueue
# (`as_task_v2` and its origin lookup were 7% of a single enqueue's CPU).
Frame = tuple[str, tuple[str, ...], tuple[int, ...], str]
_frames: dict[tuple[str, str, int, str, int], Frame] = {}
_VALUES = ("body", "id", "argsrepr", "kwargsrepr", "tag")  # a job's own values, in this order
_SLOT = re.compile(r'"\\u0000(\w+)\\u0000"')  # a slot's name as dumps() writes it
_string = encode_basestring_ascii  # a str as a JSON string, as dumps() writes one

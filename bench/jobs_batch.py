"""jobs_batch: the Redis bulk publish, hand-written message format vs kombu's `Producer.batch()`
(a study: `python -m bench --only jobs_batch`).

Issue 20 asked whether kombu 5.7's own batch (one pipeline per thousand publishes, kombu writing
the message) is as fast as jobs.broker.redis_pipeline (one pipeline per thousand, the message
written by hand). Each round pushes BENCH_BATCH_N job specs (default 20,000; priorities 0-9) with
each way in turn, so a busy machine's noise falls on both alike:

- hand:       `redis_publish_many`, what jobs_publish does on Redis today;
- batch_send: `job_publish(spec, producer)` (Celery's `send_task`, as every other transport
  publishes) inside `producer.batch(max_size=1000)`: what jobs_publish would become;
- batch_lean: Celery's `as_task_v2` and kombu's `producer.publish` inside the same batch, no
  `send_task` (routing, signals): the cheapest way kombu still writes the envelope.

Prints medians: jobs/s (wall), CPU µs per job in this process (less moved by other load on the
machine), and each batch way's ratio to hand taken round by round (>= 0.95 would be "as fast").
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import figure, setup_django

N = int(os.environ.get("BENCH_BATCH_N", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
QUEUE = "default"


def run() -> list[dict]:
    setup_django()
    from jobs.broker import publish

    specs = [_spec(i) for i in range(N)]
    ways = {"hand": _hand, "batch_send": _batch_send, "batch_lean": _batch_lean}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    cpu_us: dict[str, list[float]] = {name: [] for name in ways}
    with publish.publish_pool().acquire(block=True) as conn:
        assert conn.transport.driver_type == "redis", "jobs_batch measures kombu's Redis transport"
        assert conn.default_channel.supports_batch_publish, "kombu would not batch (retry_on_timeout?)"
        for way in ways.values():  # warm-up: declarations, clients, imports
            _timed(conn, way, specs[:1000])
        for r in range(RUNS):
            order = list(ways) if r % 2 == 0 else list(reversed(ways))
            for name in order:
                wall, cpu = _timed(conn, ways[name], specs)
                rates[name].append(N / wall)
                cpu_us[name].append(cpu / N * 1e6)
                print(f"# {time.strftime('%H:%M:%S')} jobs_batch.{name} {N / wall:.0f}/s", file=sys.stderr)
    figs = [figure(f"jobs_batch.publish_per_s.{k}", statistics.median(v), "jobs/s") for k, v in rates.items()]
    figs += [figure(f"jobs_batch.cpu_us_per_job.{k}", statistics.median(v), "us") for k, v in cpu_us.items()]
    for name in ("batch_send", "batch_lean"):
        paired = [b / h for b, h in zip(rates[name], rates["hand"], strict=True)]
        figs.append(figure(f"jobs_batch.{name}_vs_hand", statistics.median(paired), "ratio"))
    return figs


def _spec(i: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "task": "bench.noop",
        "queue": QUEUE,
        "priority": i % 10,
        "args": [i, "invoice"],
        "kwargs": {"customer": i % 97, "note": "x" * 40},
    }


def _timed(
    conn: Any, way: Callable[[Any, list[dict[str, Any]]], None], specs: list[dict[str, Any]]
) -> tuple[float, float]:
    """Wall and CPU seconds to push `specs` one way; the queue's lists are emptied before and
    after, and every message is checked to have landed."""
    client = conn.default_channel.client
    keys = [conn.default_channel._q_for_pri(QUEUE, p) for p in range(10)]
    client.delete(*keys)
    t0, c0 = time.perf_counter(), time.process_time()
    way(conn, specs)
    took = time.perf_counter() - t0, time.process_time() - c0
    landed = sum(client.llen(k) for k in keys)
    client.delete(*keys)
    assert landed == len(specs), f"{landed} of {len(specs)} messages landed"
    return took


def _hand(conn: Any, specs: list[dict[str, Any]]) -> None:
    from jobs.broker import redis_pipeline

    redis_pipeline.redis_publish_many(conn, specs)


def _batch_send(conn: Any, specs: list[dict[str, Any]]) -> None:
    from celery import current_app

    from jobs.broker import publish

    producer = current_app.amqp.Producer(conn)
    with producer.batch(max_size=1000):
        for spec in specs:
            assert publish.job_publish(spec, producer=producer, mark=False)


def _batch_lean(conn: Any, specs: list[dict[str, Any]]) -> None:
    from celery import current_app

    from jobs.broker import MARKER
    from jobs.table.payload import payload_real, reprs

    amqp = current_app.amqp
    producer = amqp.Producer(conn, auto_declare=False)
    with producer.batch(max_size=1000):
        for spec in specs:
            args, kwargs = payload_real(spec["args"], spec["kwargs"], None)
            shown = reprs(spec["args"], spec["kwargs"])
            msg = amqp.as_task_v2(spec["id"], spec["task"], args, kwargs, ignore_result=True, **shown)
            producer.publish(
                msg.body,
                exchange="",
                routing_key=spec["queue"],
                serializer="json",
                headers={**msg.headers, MARKER: 1},
                priority=spec["priority"] or 0,
                **msg.properties,
            )

"""(e) plain Celery with no Django (bench/plain_celery_app.py): enqueue and drain in a given shape.

The harness process imports the plain app to send; its workers are `celery -A bench.plain_celery_app`
subprocesses. Completion is the app's own Redis INCR counter.
"""

from __future__ import annotations

import os
import time

from bench.celery_workers import Nodes, Shape, start_nodes, wait_for

LOCK = "tasksvc:test-run"  # the lock project/testenv.py takes on a Redis database


def claim_redis_db(base: str = "redis://127.0.0.1:6379") -> str:
    """A Redis database of the plain app's own, so its control/pidbox traffic never meets the project's."""
    import atexit

    import redis

    for n in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base}/{n}")
        if client.set(LOCK, os.getpid(), nx=True, ex=3 * 3600):
            client.flushdb()
            client.set(LOCK, os.getpid(), ex=3 * 3600)
            atexit.register(client.delete, LOCK)
            return f"{base}/{n}"
    raise RuntimeError(f"every Redis database 1-15 at {base} is in use")


class PlainBench:
    """Enqueue N no-ops with the plain app, drain them with nodes of a given shape."""

    def __init__(self, n: int, broker: str) -> None:
        import redis

        os.environ["BENCH_PLAIN_BROKER"] = broker
        from bench import plain_celery_app

        self.n, self.mod, self.broker = n, plain_celery_app, broker
        self.redis = redis.Redis.from_url(broker)

    def start(self, shape: Shape, env_extra: dict[str, str] | None = None, tag: str = "plain") -> Nodes:
        env = dict(os.environ, BENCH_PLAIN_BROKER=self.broker, **(env_extra or {}))
        env.pop("DJANGO_SETTINGS_MODULE", None)
        nodes = start_nodes(self.mod.app, "bench.plain_celery_app", shape, env, tag)
        nodes.wait_ready()
        return nodes

    def enqueue(self, sent_event: bool | None = None) -> float:
        r, q = self.redis, self.mod.QUEUE
        r.delete(q, self.mod.DONE_KEY, "unacked", "unacked_index")
        if sent_event is not None:
            self.mod.app.conf.task_send_sent_event = sent_event  # plain app: no namespace
        send = self.mod.noop.apply_async
        started = time.perf_counter()
        for _ in range(self.n):
            send()
        wait_for(lambda: r.llen(q) >= self.n, 120, "plain: messages after enqueue")
        return self.n / (time.perf_counter() - started)

    def drain(self, nodes: Nodes, timeout: float = 600) -> float:
        started = time.perf_counter()
        nodes.consume(self.mod.QUEUE)
        try:
            wait_for(lambda: int(self.redis.get(self.mod.DONE_KEY) or 0) >= self.n, timeout, "plain: drain")
            return self.n / (time.perf_counter() - started)
        finally:
            nodes.stop_consuming(self.mod.QUEUE)

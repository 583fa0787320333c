"""(e) A plain Celery app with no Django: what a user would otherwise run, with Celery's defaults.

Broker from BENCH_PLAIN_BROKER; the no-op counts its runs with a Redis INCR (no result backend).
Setting toggles (bench/celery_overrides.py) are applied so the settings study can use this app too.
"""

from __future__ import annotations

import os

import redis
from celery import Celery

from bench import celery_overrides

BROKER = os.environ.get("BENCH_PLAIN_BROKER", "redis://127.0.0.1:6379/0")
QUEUE = "plain_bench"
DONE_KEY = "bench:plain:done"

# Not the current app: the harness also sends the project's shared tasks, which bind to the current one.
app = Celery("plain_bench", broker=BROKER, set_as_current=False)
app.conf.task_default_queue = QUEUE
celery_overrides.apply(app)
_client: redis.Redis | None = None


@app.task(name="plain.noop", ignore_result=True)
def noop() -> None:
    """A no-op that counts its run."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(BROKER)
    _client.incr(DONE_KEY)

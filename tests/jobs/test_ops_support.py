"""Jobs the operator-console tests run (workers load them via CELERY_EXTRA_IMPORTS); no tests here."""

from __future__ import annotations

import time

import redis
from django.conf import settings

from jobs import job

OPS_IMPORTS = "tests.jobs.tasks,tests.jobs.test_ops_support"


def r() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@job(queue="events")
def ops_quick_job(n: int) -> int:
    r().rpush("test:ops_done", n)
    return n


@job(queue="pii_detection")
def ops_tracked_job(n: int) -> None:
    """Records how many of its kind run at once, across processes."""
    client = r()
    running = client.incr("test:ops_running")
    client.rpush("test:ops_max", running)
    time.sleep(0.3)
    client.decr("test:ops_running")
    client.rpush("test:ops_tracked_done", n)

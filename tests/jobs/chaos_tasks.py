"""The job the chaos tests count: every run leaves one entry in a Redis list, so a test counts
the jobs that never ran (lost) and the ones that ran more than once (doubled).

Loaded by the test workers via CELERY_EXTRA_IMPORTS=tests.jobs.chaos_tasks. The list lives in
CHAOS_RUNS_URL when set (a test whose broker Redis is restarted keeps its count elsewhere), else
in the run's own Redis.
"""

from __future__ import annotations

import os
import time

import redis
from django.conf import settings

from jobs import job

RUNS = "chaos:runs"


def runs_client() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("CHAOS_RUNS_URL") or settings.REDIS_URL)


@job(queue="default", max_attempts=3)
def chaos_job(n: int, seconds: float = 0.0) -> int:
    """A job with an effect outside the job table: one list entry per run of its body."""
    if seconds:
        time.sleep(seconds)
    runs_client().rpush(RUNS, n)
    return n

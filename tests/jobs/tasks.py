"""Jobs used by the jobs-layer tests; loaded by test workers via CELERY_EXTRA_IMPORTS."""

from __future__ import annotations

import time

import redis
from django.conf import settings

from jobs import job


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@job(queue="default", unique_for=60, unique_on=("n",))
def unique_job(n: int) -> int:
    _redis().rpush("test:unique_runs", n)
    return n


@job(queue="handlers", rate_limit="10/2s")
def limited_job(n: int) -> None:
    _redis().rpush("test:limited_starts", f"{time.time():.6f}")


@job(queue="sync", single_flight=True)
def single_job(n: int) -> None:
    r = _redis()
    running = r.incr("test:single_running")
    r.rpush("test:single_max", running)
    time.sleep(0.15)
    r.decr("test:single_running")
    r.rpush("test:single_done", n)


@job(queue="default", max_attempts=3, backoff=(0.5, 5))
def flaky_job(key: str, fail_times: int) -> str:
    r = _redis()
    n = r.incr(f"test:flaky:{key}")
    r.rpush(f"test:flaky_times:{key}", f"{time.time():.6f}")
    if n <= fail_times:
        raise ConnectionError(f"transient failure {n}")
    return "ok"


@job(queue="default", max_attempts=1)
def slow_effect_job(key: str, seconds: float) -> None:
    time.sleep(seconds)
    _redis().incr(f"test:effect:{key}")


@job(queue="default")
def noop_job() -> None:
    return None


@job(queue="default", unique_for=60, unique_until_done=True)
def unique_until_done_job(n: int) -> int:
    _redis().rpush("test:until_done_runs", n)
    return n

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


@job(queue="default", max_attempts=2, sensitive=("text",))
def sensitive_effect_job(text: str, channel: str) -> None:
    """Proves it ran with its real argument without writing it anywhere in the clear."""
    import hashlib

    _redis().rpush("test:sensitive_runs", hashlib.sha256(text.encode()).hexdigest())


@job(queue="default", max_attempts=3, backoff=(0.2, 1))
def counted_job(n: int, seconds: float = 0.0, fail_first: bool = False) -> int:
    """One list entry per run: the tests count lost and repeated runs from it."""
    from jobs import current_job

    ctx = current_job()
    r = _redis()
    if seconds:
        time.sleep(seconds)
    if fail_first and ctx is not None and ctx.attempt == 1:
        r.rpush("test:counted_failed", n)
        raise ConnectionError("first attempt fails")
    r.rpush("test:counted_runs", n)
    return n


@job(queue="default")
def snoozing_job(key: str, times: int) -> int:
    from jobs import Snooze, current_job

    n = _redis().incr(f"test:snoozes:{key}")
    if n <= times:
        raise Snooze(0.3, reason="not yet")
    ctx = current_job()
    return ctx.attempt if ctx else -1


@job(queue="handlers", rate_limit="10/1s")
def herd_job(n: int) -> None:
    _redis().rpush("test:herd_starts", f"{time.time():.6f}")

"""Jobs the chaos tests run (workers load them via CELERY_EXTRA_IMPORTS=tests.jobs.chaos_control_tasks).

Each one leaves its traces in Redis lists (`chaos:*`), so a test counts runs, steps and overlaps
from outside the worker without touching the job table it checks."""

from __future__ import annotations

import os
import signal
import time

import redis
from django.conf import settings

from jobs import LeaseLost, current_job, job

CHAOS_IMPORTS = "tests.jobs.chaos_control_tasks"


def chaos_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _attempt() -> int:
    ctx = current_job()
    return ctx.attempt if ctx is not None else 0


@job(queue="default", max_attempts=3)
def chaos_suicide_job(key: str) -> None:
    """Kills the process running it, every time: a job that takes its worker down."""
    chaos_redis().rpush(f"chaos:suicide:{key}", _attempt())
    os.kill(os.getpid(), signal.SIGKILL)


def _flaky_rate(key: str) -> tuple[str, str]:
    """A gate whose store fails once (a Redis blip while the gate asks it), then answers."""
    if chaos_redis().incr(f"chaos:gatecalls:{key}") == 1:
        raise redis.ConnectionError("Connection reset by peer")
    return f"chaos-flaky-{key}", "100/1s"


@job(queue="default", max_attempts=3, rate_limit=_flaky_rate, retry_on=(KeyError,))
def chaos_flaky_gate_job(key: str) -> None:
    """Retries only KeyError from its own body: a gate's transient error must retry all the same."""
    chaos_redis().rpush(f"chaos:runs:{key}", _attempt())


@job(queue="default", max_attempts=2)
def chaos_mark_job(key: str, n: int, seconds: float = 0.0) -> int:
    """One list entry per run (and per start): the tests count repeated and lost runs from it."""
    r = chaos_redis()
    r.rpush(f"chaos:started:{key}", n)
    if seconds:
        time.sleep(seconds)
    r.rpush(f"chaos:runs:{key}", n)
    return n


@job(queue="default", max_attempts=3, sensitive=("card",))
def chaos_secret_job(key: str, card: str) -> None:
    chaos_redis().rpush(f"chaos:runs:{key}", len(card))


def _malformed_rate(key: str) -> tuple[str, str]:
    return f"chaos-rate-{key}", "abc"


@job(queue="default", max_attempts=3, rate_limit=_malformed_rate)
def chaos_bad_rate_job(key: str) -> None:
    chaos_redis().rpush(f"chaos:runs:{key}", 1)


@job(queue="default", max_attempts=3)
def chaos_stepping_job(key: str, steps: int, step_seconds: float, check: bool = True) -> int:
    """Works in small steps, a row per step, stopping at a checkpoint when its lease is lost (or,
    with check=False, never looking). Returns the attempt that finished it."""
    r = chaos_redis()
    attempt = _attempt()
    ctx = current_job()
    r.rpush(f"chaos:runs:{key}", attempt)
    try:
        for i in range(steps):
            if ctx is not None and check:
                ctx.checkpoint()
            r.rpush(f"chaos:steps:{key}", f"{attempt}:{i}")
            time.sleep(step_seconds)
    except LeaseLost:
        r.rpush(f"chaos:ended:{key}", f"{attempt}:lease_lost")
        raise
    r.rpush(f"chaos:ended:{key}", f"{attempt}:done")
    return attempt


@job(queue="events", max_attempts=1)
def chaos_gated_job(key: str, n: int, seconds: float) -> int:
    """Counts how many run at once (`chaos:max:<key>` keeps each start's view)."""
    r = chaos_redis()
    r.rpush(f"chaos:started:{key}", n)
    running = r.incr(f"chaos:running:{key}")
    r.rpush(f"chaos:max:{key}", running)
    try:
        time.sleep(seconds)
    finally:
        r.decr(f"chaos:running:{key}")
    r.rpush(f"chaos:runs:{key}", n)
    return n


# Worker settings for the chaos tests: a lease of 3 s renewed every second, rescued 1 s after it
# lapsed, the lifeline sweeping every 0.5 s — so a lost run comes back within seconds (and a live
# one keeps its lease on a loaded machine).
CHAOS_ENV = {
    "CELERY_EXTRA_IMPORTS": CHAOS_IMPORTS,
    "JOBS_LEASE_TTL": "3",
    "JOBS_RESCUE_AFTER": "1",
    "JOBS_RECONCILE_EVERY": "0.5",
    "JOBS_QUEUE_SYNC_EVERY": "1",
}


def chaos_list(name: str) -> list[str]:
    return [v.decode() for v in chaos_redis().lrange(name, 0, -1)]

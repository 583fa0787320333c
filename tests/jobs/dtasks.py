"""Django `@task` functions for tests/jobs/test_tasks_api.py; workers load them via
CELERY_EXTRA_IMPORTS (or learn them on first delivery)."""

from __future__ import annotations

import time

import redis
from django.conf import settings

from jobs.tasks_api import job_options
from jobs.tasks_api.compat import TaskContext

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@task()
def dt_add(a: int, b: int, key: str = "add") -> int:
    _redis().incr(f"test:dt:{key}")
    return a + b


@task()
def dt_slow(key: str, seconds: float) -> str:
    time.sleep(seconds)
    _redis().incr(f"test:dt:{key}")
    return key


@task()
def dt_fail(message: str) -> None:
    raise ValueError(message)


@task()
def dt_order(name: str) -> None:
    _redis().rpush("test:dt:order", name)


@task(takes_context=True)
@job_options(max_attempts=3, backoff=(0.1, 0.2), retry_on=[ConnectionError])
def dt_context(context: TaskContext, fail_until: int) -> int:
    if context.attempt < fail_until:
        raise ConnectionError(f"attempt {context.attempt} fails")
    return context.attempt


@task(queue_name="emails")
@job_options(unique_for=60, unique_on=["user_id"], sensitive=["token"])
def dt_unique(user_id: int, token: str) -> int:
    return user_id


def not_declared(x: int) -> int:
    """Declared by the tests themselves, to see what the backend refuses."""
    return x


def with_queue_options(x: int) -> int:
    """Declared by a test under a backend whose OPTIONS set its queue's job options."""
    return x


def with_bad_option(x: int) -> int:
    return x

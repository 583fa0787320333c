"""The no-op tasks the jobs benchmark compares on this project's app (loaded by the bench worker).

Bare tasks count their runs with a Redis INCR: Celery without a result backend leaves no row, and
the broker's queue being empty does not mean the last prefetched message has run.
"""

from __future__ import annotations

import time

import redis
from celery import shared_task
from django.conf import settings

from jobs import job

DONE_KEY = "bench:done"
_client: redis.Redis | None = None


def count_done() -> None:
    """INCR the run counter (one connection per worker process, made on first use)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    _client.incr(DONE_KEY)


@shared_task(name="bench.bare_noop", ignore_result=True)
def bare_noop() -> None:
    """(a) bare Celery: no result backend, only the run counter."""
    count_done()


@shared_task(name="bench.results_noop", ignore_result=False)
def results_noop() -> None:
    """(b) the vanilla stack: django-celery-results on PostgreSQL."""


@job(name="bench.jobs_noop", queue="bench")
def jobs_noop() -> None:
    """(c)/(d) a durable job: completion is its row in state succeeded."""


LATENCY_KEY = "bench:latency"


def note_latency(sent_at: float) -> None:
    """Push enqueue → body start (s, wall clock: one machine) for the latency figure."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    _client.rpush(LATENCY_KEY, time.time() - sent_at)


@shared_task(name="bench.bare_latency", ignore_result=True)
def bare_latency(sent_at: float) -> None:
    note_latency(sent_at)


@job(name="bench.jobs_latency", queue="bench")
def jobs_latency(sent_at: float) -> None:
    note_latency(sent_at)


# (e) Django's Tasks API on the layer: a backend alias of the bench's own whose one queue is the
# bench's, added to settings.TASKS (the same dict object the handler reads) before first use, in
# the bench process and in its workers alike (both import this module).
settings.TASKS.setdefault("bench", {"BACKEND": "jobs.tasks_api.DjangoTasksBackend", "QUEUES": ["bench"]})

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task


@task(backend="bench", queue_name="bench")
def dtasks_noop() -> None:
    """(e) a Django @task enqueued with .enqueue(): a durable job under "django_tasks:…"."""

"""queue_handlers: what typed enqueue costs over a bare jobs enqueue, in one run.

`enqueue_job` = handler lookup + pydantic validation + a payload row + the jobs enqueue. It is
compared with `handler_job_task.apply_async` alone (the jobs layer's own enqueue) and with bare
Celery `send_task`, all against the same Redis and PostgreSQL. No worker: enqueue cost only.
"""

from __future__ import annotations

import time

from bench.common import figure, median_of, setup_django

N = 300


def _clean() -> None:
    import redis
    from django.conf import settings

    from jobs.models import Job
    from queue_handlers.models import HandlerJob

    redis.Redis.from_url(settings.REDIS_URL).delete("handlers")
    Job.objects.all().delete()
    HandlerJob.objects.all().delete()


def _rate(fn) -> float:
    _clean()
    started = time.perf_counter()
    for i in range(N):
        fn(i)
    return N / (time.perf_counter() - started)


def run() -> list[dict]:
    setup_django()
    from celery import current_app

    from queue_handlers.services import enqueue_email
    from queue_handlers.tasks import handler_job_task

    def typed(i: int) -> None:
        enqueue_email({"to": f"user{i}@qh-bench.example.org", "subject": "Hello", "body": "Hi"})

    def jobs_only(i: int) -> None:
        handler_job_task.apply_async(kwargs={"job_type": "email", "handler_job_id": str(i)})

    def bare(i: int) -> None:
        current_app.send_task("bench.noop", kwargs={"i": i}, queue="handlers")

    typed_rate = median_of(3, lambda: _rate(typed))
    jobs_rate = median_of(3, lambda: _rate(jobs_only))
    bare_rate = median_of(3, lambda: _rate(bare))
    _clean()
    return [
        figure("queue_handlers.enqueue_typed", typed_rate, "jobs/s"),
        figure("queue_handlers.enqueue_jobs_layer_only", jobs_rate, "jobs/s"),
        figure("queue_handlers.enqueue_bare_celery", bare_rate, "jobs/s"),
        figure("queue_handlers.typed_vs_jobs_layer", typed_rate / jobs_rate, "ratio"),
        figure("queue_handlers.typed_vs_bare_celery", typed_rate / bare_rate, "ratio"),
    ]

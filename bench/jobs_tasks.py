"""The three no-op tasks the jobs benchmark compares (loaded by the bench worker)."""

from celery import shared_task

from jobs import job


@shared_task(name="bench.bare_noop", ignore_result=True)
def bare_noop() -> None:
    """(a) bare Celery: no result backend."""


@shared_task(name="bench.results_noop", ignore_result=False)
def results_noop() -> None:
    """(b) the vanilla stack: django-celery-results on PostgreSQL."""


@job(name="bench.jobs_noop", queue="bench")
def jobs_noop() -> None:
    """(c) jobs.job with history on."""

"""The jobs layer: Oban's guarantees on Celery. Use `job(...)` to declare a task."""

from jobs.decorators import job

__all__ = ["job"]

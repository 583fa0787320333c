"""The queues this deployment declares, read from Celery's configuration (`task_queues`), and
the worker command that consumes them all: one source, so no list is copied by hand."""

from __future__ import annotations

from celery import current_app


def declared_queues() -> list[str]:
    """Queue names in Celery's `task_queues`, in their declared order."""
    return list(current_app.amqp.queues.keys())


def worker_command(app: str = "project") -> str:
    return f"celery -A {app} worker -l INFO -Q " + ",".join(declared_queues())

"""The queues this deployment declares, read from Celery's configuration (`task_queues`), the
worker command that consumes them all (one source, so no list is copied by hand), and what a
job's priority means on each broker."""

from __future__ import annotations

from celery import current_app


def declared_queues() -> list[str]:
    """Queue names in Celery's `task_queues`, in their declared order."""
    return list(current_app.amqp.queues.keys())


def queue_declared(name: str) -> bool:
    """Whether Celery declares `name` (a dict lookup: checked at every enqueue)."""
    return name in current_app.amqp.queues


def worker_command(app: str = "project") -> str:
    return f"celery -A {app} worker -l INFO -Q " + ",".join(declared_queues())


def broker_priority(priority: int | None, driver_type: str) -> int | None:
    """The layer's priority (0 = most urgent, 9 = least, on every broker) as the broker wants
    it: kombu's Redis transport serves the lowest number first (as is); RabbitMQ serves the
    highest first on queues with x-max-priority (so 9 - p)."""
    if priority is None:
        return None
    return 9 - priority if driver_type == "amqp" else priority

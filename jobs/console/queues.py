"""Pause, resume and limit a queue at run time: cluster-wide and persistent.

The `QueueControl` row is the truth. A change is broadcast to every worker at once (remote
control command `jobs_queues_apply`), and every worker also applies the rows when it starts and
again every JOBS_QUEUE_SYNC_EVERY seconds, so a worker that missed the broadcast (down, or the
single-machine filesystem broker, which has no broadcast) follows within seconds.

A worker applies a row with Celery's own consumer calls — `cancel_task_queue` (what
`cancel_consumer` runs) and `add_task_queue` (what `add_consumer` runs) — but only for queues it
was started with: a plain `add_consumer` broadcast would make every worker consume a resumed
queue, the long-jobs workers included. Jobs of a paused queue wait in the broker, untouched.
The cluster-wide limit (`global_limit`) is enforced where jobs start (the jobs core).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from celery.signals import celeryd_after_setup, worker_ready
from celery.worker.control import control_command
from django.db import close_old_connections, connections, transaction

from jobs.broker.queues import declared_queues
from jobs.conf import conf
from jobs.models import QueueControl

logger = logging.getLogger("jobs.console.queues")
COMMAND = "jobs_queues_apply"


class QueueError(ValueError):
    """The queue or limit does not exist / make sense."""


def _check(queue: str) -> None:
    QUEUES = declared_queues()

    if queue not in QUEUES:
        raise QueueError(f"unknown queue {queue!r}; queues are {', '.join(QUEUES)}")


def queue_pause(*, queue: str) -> QueueControl:
    """Stop every worker taking jobs from `queue`; its jobs wait (nothing is lost)."""
    return _set(queue, paused=True)


def queue_resume(*, queue: str) -> QueueControl:
    """Let the workers started for `queue` take its jobs again."""
    return _set(queue, paused=False)


def queue_limit_set(*, queue: str, limit: int | None) -> QueueControl:
    """At most `limit` jobs of `queue` run at once across the cluster (None: no limit)."""
    if limit is not None and limit < 1:
        raise QueueError("a queue's limit is at least 1 (pause the queue to run none)")
    return _set(queue, global_limit=limit)


def _set(queue: str, **fields: Any) -> QueueControl:
    _check(queue)
    with transaction.atomic():
        control, _ = QueueControl.objects.select_for_update().get_or_create(queue=queue)
        for name, value in fields.items():
            setattr(control, name, value)
        control.save()
        transaction.on_commit(broadcast)
    logger.info("queue control changed", extra={"fields": {"queue": queue, **fields}})
    return control


def broadcast() -> None:
    """Ask every worker to apply the rows now; a worker that misses it catches up by itself."""
    try:
        current_app.control.broadcast(COMMAND, reply=False)
    except Exception as exc:  # the rows are stored; workers re-read them every few seconds
        logger.warning("queue control broadcast failed: %s", type(exc).__name__)


def paused_queues() -> set[str]:
    return set(QueueControl.objects.filter(paused=True).values_list("queue", flat=True))


class _Worker:
    """The queues this worker process was started with (`-Q`), before any pause."""

    started_with: set[str] | None = None


def apply(consumer: Any) -> dict[str, list[str]]:
    """Make this worker's consumers match the rows: cancel paused queues, re-add resumed ones."""
    if _Worker.started_with is None:  # a worker started without the CLI (tests' start_worker)
        _Worker.started_with = set(consumer.app.amqp.queues.consume_from or {})
    started_with = _Worker.started_with
    try:
        paused = paused_queues()
    except Exception as exc:
        close_old_connections()
        logger.warning("queue controls unreadable: %s", type(exc).__name__)
        return {"cancelled": [], "added": []}
    cset = consumer.task_consumer
    done: dict[str, list[str]] = {"cancelled": [], "added": []}
    for queue in sorted(started_with):
        consuming = cset is not None and cset.consuming_from(queue)
        if queue in paused and consuming:
            consumer.cancel_task_queue(queue)
            done["cancelled"].append(queue)
        elif queue not in paused and cset is not None and not consuming:
            consumer.add_task_queue(queue)
            done["added"].append(queue)
    if done["cancelled"] or done["added"]:
        logger.info("queues applied", extra={"fields": done})
    return done


@control_command()
def jobs_queues_apply(state: Any, **kwargs: Any) -> dict[str, str]:
    """Remote control: re-read the queue controls and apply them in this worker's event loop."""
    state.consumer.call_soon(apply, state.consumer)
    return {"ok": "applying queue controls"}


@celeryd_after_setup.connect(dispatch_uid="jobs.console.queues.after_setup")
def _on_worker_setup(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """A worker that starts while a queue is paused never consumes it: its `-Q` selection is
    narrowed before the consumer starts (so nothing of that queue is even prefetched)."""
    queues = instance.app.amqp.queues
    _Worker.started_with = set(queues.consume_from or {})
    try:
        paused = paused_queues()
    except Exception as exc:
        logger.warning("queue controls unreadable at start: %s", type(exc).__name__)
        return
    finally:
        connections.close_all()  # prefork children must not inherit this connection
    for queue in sorted(paused & _Worker.started_with):
        queues.deselect(queue)
        logger.info("queue paused: not consuming it", extra={"fields": {"queue": queue}})


@worker_ready.connect(dispatch_uid="jobs.console.queues.worker_ready")
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """Apply the rows once more (a change during start-up), then every few seconds: the safety
    net for missed broadcasts and for the broker without broadcast."""
    consumer = sender
    if consumer is None or not hasattr(consumer, "task_consumer"):
        return
    apply(consumer)
    every = conf().queue_sync_every
    if every and getattr(consumer, "timer", None) is not None:
        consumer.timer.call_repeatedly(every, lambda: consumer.call_soon(apply, consumer))

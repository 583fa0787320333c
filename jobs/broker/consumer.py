"""Celery's consumer, with one change: a job message for a task this worker does not know goes
back to the broker instead of into nothing.

In a rolling deploy an old worker may take a message for a task only the new code has. Celery
rejects such a message without requeueing it and marks it failed, while the job's row still says
`queued`. Here a message the layer published (it carries the marker) is rejected with requeue
after JOBS_REQUEUE_DELAY — on the consumer's timer, so the consumer never sleeps — and another
worker (or this one, once upgraded) takes it. Other messages keep Celery's behaviour.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer.consumer import Consumer as CeleryConsumer

from jobs.broker import MARKER
from jobs.conf import conf

logger = logging.getLogger("jobs.consumer")


class Consumer(CeleryConsumer):
    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        headers = getattr(message, "headers", None) or {}
        if not headers.get(MARKER):
            return super().on_unknown_task(body, message, exc)
        fields = {"job_id": headers.get("id", ""), "task": headers.get("task", "")}
        logger.warning(
            "job for a task this worker does not know: back to the broker", extra={"fields": fields}
        )
        self.timer.call_after(conf().requeue_delay, _requeue, (message,))
        return None


def _requeue(message: Any) -> None:
    try:
        message.reject(requeue=True)
    except Exception as exc:  # the connection went: the broker redelivers the unacked message
        logger.warning("requeue failed", extra={"fields": {"error": type(exc).__name__}})

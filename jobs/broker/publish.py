"""Handing stored jobs to the broker. The job row is already committed when this runs, so a
publish that fails loses nothing: the row stays unpublished and the relay tries again.

One way to publish (enqueue, the mover, the relay, the reconciler, rescue, admin retry), with a
short circuit breaker: while the broker is down, enqueues return at once instead of each waiting
for a connection time-out.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from celery import current_app

from jobs import telemetry
from jobs.broker import MARKER, redis_pipeline
from jobs.conf import conf
from jobs.table import clock, history, rows, transitions
from jobs.table.payload import payload_real, reprs

logger = logging.getLogger("jobs.broker.publish")
_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
_down_until = 0.0
# jobs.testing.manual(): rows are written, nothing is published — in this context only (a
# ContextVar, as oban-py's testing mode), so a test's manual mode never leaks into another thread.
MANUAL: ContextVar[bool] = ContextVar("jobs_manual", default=False)


def broker_down() -> bool:
    return time.monotonic() < _down_until


def job_publish(spec: dict[str, Any], producer: Any = None, mark: bool = True) -> bool:
    """Put one stored job on its queue; False when the broker did not take it (logged, kept).

    Without a producer this is `jobs_publish([spec])` (on Redis: one pipelined push); with one,
    Celery's own publish (other transports)."""
    global _down_until
    if MANUAL.get():
        return True
    if broker_down():
        return False
    if producer is None:
        return jobs_publish([spec]) == 1
    args, kwargs = payload_real(spec["args"], spec["kwargs"], None)
    options: dict[str, Any] = {"queue": spec["queue"], **reprs(spec["args"], spec["kwargs"])}
    if spec.get("priority") is not None:
        options["priority"] = spec["priority"]
    try:
        current_app.send_task(
            spec["task"],
            args=args,
            kwargs=kwargs,
            task_id=spec["id"],
            producer=producer,
            retry=True,
            retry_policy=_RETRY_POLICY,
            ignore_result=True,  # outcomes live in the job table, not in task-result rows
            headers={MARKER: 1},
            **options,
        )
    except Exception as exc:
        _down_until = time.monotonic() + conf().broker_backoff
        telemetry.log_event(
            "publish_failed", spec["task"], spec["id"], queue=spec["queue"], error=type(exc).__name__
        )
        return False
    if mark:
        _mark_published([spec["id"]])
    return True


def jobs_publish(specs: list[dict[str, Any]]) -> int:
    """Publish several: on Redis in one pipeline per thousand (jobs.broker.redis_pipeline), elsewhere over
    one producer. When the batch fails, every job in it stays unpublished for the relay (a part
    that did reach Redis runs once: a second copy cannot claim the row). Returns how many the
    broker took."""
    global _down_until
    if MANUAL.get():
        return len(specs)
    if not specs or broker_down():
        return 0
    sent: list[str] = []
    try:
        with current_app.pool.acquire(block=True) as conn:
            if redis_pipeline.supported(conn):
                redis_pipeline.redis_publish_many(conn, specs)
                sent = [spec["id"] for spec in specs]
            else:
                with current_app.producer_or_acquire() as producer:
                    sent = [spec["id"] for spec in specs if job_publish(spec, producer=producer, mark=False)]
    except Exception as exc:  # the batch did not reach the broker: the relay publishes them
        _down_until = time.monotonic() + conf().broker_backoff
        fields = {"jobs": len(specs), "error": type(exc).__name__}
        logger.warning("publish: batch failed", extra={"fields": fields})
        return 0
    _mark_published(sent)
    return len(sent)


def _mark_published(ids: list[str]) -> None:
    now = rows.db_time(clock.db_now())
    for job_id in ids:
        history.record(transitions.PUBLISHED_SQL, [now, rows.db_id(job_id)])

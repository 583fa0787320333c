"""Nothing waits only in Redis: the mover, the relay and the reconciler, all on the job table.

- `move_due`: scheduled, deferred and retrying jobs whose time has come become queued in one
  conditional UPDATE, then are published; a publish that fails leaves them unpublished, so a
  popped batch is never lost (the relay picks up what the mover could not hand over).
- `relay`: queued jobs never handed to a broker (the enqueuer died after commit, the broker was
  down at enqueue) are published.
- `reconcile`: queued jobs the broker has forgotten are published again — all of those handed to
  a Redis that has since come back empty (its epoch is newer than their publish), and, in any
  broker, those waiting longer than JOBS_REPUBLISH_AFTER while their queue holds nothing.
- `rescue`: started jobs whose lease lapsed JOBS_RESCUE_AFTER ago (their process is gone) are
  queued again with their real arguments; the attempt is recorded as lost.
A copy published twice runs once: the claim in the job table lets one delivery start.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.utils import timezone

from jobs import history, publish, sweeps, telemetry
from jobs.coordination import coordinator
from jobs.models import JobAttempt

logger = logging.getLogger("jobs.reconcile")
BATCH = 500


def move_due(now: datetime | None = None) -> int:
    specs = sweeps.jobs_take_due(now or timezone.now(), BATCH)
    return publish.jobs_publish(specs) if specs else 0


def relay(now: datetime | None = None) -> int:
    now = now or timezone.now()
    specs = sweeps.jobs_take_unpublished(now, now - timedelta(seconds=settings.JOBS_RELAY_AFTER), BATCH)
    return _publish_or_unpublish(specs, "relayed")


def reconcile(now: datetime | None = None) -> int:
    now = now or timezone.now()
    done = 0
    epoch = coordinator().epoch()
    if epoch:
        before = datetime.fromtimestamp(epoch, tz=UTC)
        done += _publish_or_unpublish(sweeps.jobs_take_published_before(now, before, BATCH), "broker_forgot")
    stale = now - timedelta(seconds=settings.JOBS_REPUBLISH_AFTER)
    for queue in sweeps.queued_published_queues(stale):
        if broker_depth(queue) == 0:
            done += _publish_or_unpublish(sweeps.jobs_take_published_before(now, stale, BATCH, queue), "lost")
    return done


def rescue(now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    lapsed = sweeps.jobs_take_lapsed(now, now - timedelta(seconds=settings.JOBS_RESCUE_AFTER), BATCH)
    for spec in lapsed:
        history.record(
            history.ATTEMPT,
            {
                "job_id": spec["id"],
                "attempt": spec["attempt"],
                "started_at": now,
                "finished_at": now,
                "worker": spec["worker"][:200],
                "outcome": JobAttempt.Outcome.LOST,
                "error": "lease lapsed: the process running it is gone",
            },
        )
        logger.warning("rescued job", extra={"fields": {"job_id": spec["id"], "attempt": spec["attempt"]}})
    _publish_or_unpublish(lapsed, "rescued")
    return [spec["id"] for spec in lapsed]


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Every step once, each on its own: one failing never stops the others."""
    out: dict[str, int] = {}
    for name, step in (
        ("moved", move_due),
        ("relayed", relay),
        ("republished", reconcile),
        ("rescued", lambda n: len(rescue(n))),
    ):
        try:
            out[name] = step(now)
        except Exception as exc:
            logger.warning(
                "jobs sweep step failed", extra={"fields": {"step": name, "error": type(exc).__name__}}
            )
            out[name] = -1
    return out


def broker_depth(queue: str) -> int | None:
    """Messages waiting in the broker's queue (None when the broker cannot say)."""
    try:
        with current_app.connection_for_read() as conn:
            channel: Any = conn.default_channel
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:
        return None


def _publish_or_unpublish(specs: list[dict], why: str) -> int:
    if not specs:
        return 0
    sent = []
    for spec in specs:
        if publish.job_publish(spec):
            sent.append(spec["id"])
            telemetry.log_event(why, spec["task"], spec["id"], queue=spec["queue"])
    sweeps.jobs_unpublish([s["id"] for s in specs if s["id"] not in set(sent)])
    return len(sent)

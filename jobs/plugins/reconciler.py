"""Reconciler: nothing waits only in the broker. Two sweeps over the job table:

- `relay`: queued jobs never handed to a broker (the enqueuer died after commit, the broker was
  down at enqueue) are published.
- `reconcile`: queued jobs the broker has forgotten are published again, whatever the broker
  says about its queue:
  - all of those published before the broker's epoch (a Redis that came back empty),
  - those published more than JOBS_REPUBLISH_AFTER ago and never claimed, in a queue whose
    broker queue is empty or missing (Redis deletes an empty list, and loses lists in a crash or
    failover while keeping its memory; RabbitMQ may lose a queue),
  - and, in any queue, those published more than 4 × JOBS_REPUBLISH_AFTER ago (a broker that
    lost part of a queue still answers a depth).
A copy published twice runs once: the claim in the job table lets one delivery start. Every
time compared here is on the database's clock (table/clock.py), so a publisher whose clock runs
ahead cannot hide its jobs from the epoch check.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from jobs import telemetry
from jobs.broker import publish
from jobs.broker.depth import queue_depth
from jobs.conf import conf
from jobs.coordination import coordinator
from jobs.runtime import Runtime
from jobs.table import clock, sweeps

logger = logging.getLogger("jobs.reconciler")
BATCH = 500
ANYWAY = 4  # × republish_after: republished whatever the broker says


def relay(now: datetime | None = None) -> int:
    now = now or clock.db_now()
    specs = sweeps.jobs_take_unpublished(now, now - timedelta(seconds=conf().relay_after), BATCH)
    return _publish_or_unpublish(specs, "relayed")


def reconcile(now: datetime | None = None) -> int:
    now = now or clock.db_now()
    done = 0
    epoch = coordinator().epoch(now.timestamp())
    if epoch:
        before = datetime.fromtimestamp(epoch, tz=UTC)
        done += _publish_or_unpublish(sweeps.jobs_take_published_before(now, before, BATCH), "broker_forgot")
    stale = now - timedelta(seconds=conf().republish_after)
    for queue in sweeps.queued_published_queues(stale):
        if queue_depth(queue) == 0:
            specs = sweeps.jobs_take_published_before(now, stale, BATCH, queue)
            done += _publish_or_unpublish(specs, "lost")
    very_stale = now - timedelta(seconds=conf().republish_after * ANYWAY)
    done += _publish_or_unpublish(sweeps.jobs_take_published_before(now, very_stale, BATCH), "lost")
    return done


def _publish_or_unpublish(specs: list[dict], why: str) -> int:
    if not specs:
        return 0
    sent = []
    for spec in specs:
        if publish.job_publish(spec):
            sent.append(spec["id"])
            telemetry.log_event(why, spec["task"], spec["id"], queue=spec["queue"])
    taken = set(sent)
    sweeps.jobs_unpublish([s["id"] for s in specs if s["id"] not in taken])
    return len(sent)


def _sweep() -> None:
    relay()
    reconcile()


def register(rt: Runtime) -> None:
    rt.every("reconciler", lambda: conf().reconcile_every, _sweep)
    rt.every("clock", clock.REFRESH, clock.offset_learn)

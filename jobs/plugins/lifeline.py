"""Lifeline (Oban's Lifeline): a started job whose lease lapsed JOBS_RESCUE_AFTER ago — the
process running it is gone (SIGKILL, OOM, a segfault, a machine lost) — is queued again with its
real arguments, or, when it has no attempt left, failed ("lost N times"). A lost node is not the job's fault:
a job is rescued at least once whatever its max_attempts, then the budget holds. So a job that kills
its own worker is tried `max_attempts` times and then ends; the budget holds on rescue too.
Each lapsed attempt gets a `lost` attempt row."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction

from jobs import telemetry
from jobs.broker import publish
from jobs.conf import conf
from jobs.models import JobAttempt, JobState
from jobs.plugins import reconciler
from jobs.runtime import Runtime
from jobs.table import clock, sweeps, transitions

logger = logging.getLogger("jobs.lifeline")
BATCH = 500
LOST = "lease lapsed: the process running it is gone"


class _Reach:
    """Since when this process has reached the database without a break (monotonic seconds)."""

    since: float | None = None


def rescue(now: datetime | None = None, *, settled: bool = False) -> list[str]:
    """Rescue lapsed jobs; returns the ids queued again (those failed for good are not).

    After the database was away, every lease lapsed at once, though most runs are alive and
    only waiting to write their finish or renew. The lifeline in a worker node therefore rescues
    nothing until it has reached the database for a whole lease TTL (`settled=False`): the owners
    have flushed and renewed by then, and only the dead stay lapsed."""
    if not settled:
        clock.offset_learn()  # touches the database: raises while it is away
        if _Reach.since is None:
            _Reach.since = time.monotonic()
        if time.monotonic() - _Reach.since < conf().lease_ttl:
            return []
    now = now or clock.db_now()
    with transaction.atomic():  # a job's new state and its `lost` row are seen together
        lapsed = sweeps.jobs_take_lapsed(now, now - timedelta(seconds=conf().rescue_after), BATCH)
        if lapsed:
            transitions.attempt_insert(
                [
                    {
                        "job_id": spec["id"],
                        "attempt": spec["attempt"],
                        "started_at": now,
                        "finished_at": now,
                        "worker": spec["worker"][:200],
                        "outcome": JobAttempt.Outcome.LOST,
                        "error": LOST,
                    }
                    for spec in lapsed
                ]
            )
    requeued = []
    for spec in lapsed:
        fields = {"job_id": spec["id"], "attempt": spec["attempt"], "state": spec["state"]}
        logger.warning("rescued job", extra={"fields": fields})
        if spec["state"] == JobState.FAILED:
            telemetry.log_event("failure", spec["task"], spec["id"], queue=spec["queue"], outcome="failed")
        elif publish.job_publish(spec):
            requeued.append(spec["id"])
            telemetry.log_event("rescued", spec["task"], spec["id"], queue=spec["queue"])
    sweeps.jobs_unpublish(
        [s["id"] for s in lapsed if s["state"] == JobState.QUEUED and s["id"] not in requeued]
    )
    return requeued


def jobs_rescue(*, now: datetime | None = None) -> list[str]:
    """Everything that would otherwise wait forever, now (workers also do it every few seconds):
    lapsed leases, unpublished and forgotten jobs. Returns the rescued started jobs."""
    rescued = rescue(now, settled=True)
    reconciler.relay(now)
    reconciler.reconcile(now)
    return rescued


def _step() -> None:
    try:
        rescue()
    except Exception:
        _Reach.since = None  # the database went away: wait a lease TTL once it is back
        raise


def register(rt: Runtime) -> None:
    rt.every("lifeline", lambda: conf().reconcile_every, _step)

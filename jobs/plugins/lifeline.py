"""Lifeline (Oban's Lifeline): a started job whose lease lapsed JOBS_RESCUE_AFTER ago — the
process running it is gone (SIGKILL, OOM, a segfault, a machine lost) — is queued again with its
real arguments, or, when it has no attempt left, failed ("lost N times"). A lost node is not the job's fault:
a job is rescued at least once whatever its max_attempts, then the budget holds. So a job that kills
its own worker is tried `max_attempts` times and then ends; the budget holds on rescue too.
Each lapsed attempt gets a `lost` attempt row."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

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


def rescue(now: datetime | None = None) -> list[str]:
    """Rescue lapsed jobs; returns the ids queued again (those failed for good are not)."""
    now = now or clock.db_now()
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
    rescued = rescue(now)
    reconciler.relay(now)
    reconciler.reconcile(now)
    return rescued


def register(rt: Runtime) -> None:
    rt.every("lifeline", lambda: conf().reconcile_every, rescue)

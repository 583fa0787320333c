"""What an operator does to jobs from the console: retry, cancel, discard — one job or many.

Retry is the job's own (Oban's `retry_job`): the same row goes back to waiting, its attempt
budget raised when spent, its history kept; retrying twice is a no-op the second time, so a bulk
retry never runs a payload twice. Cancel stops a waiting job, and a running one cooperatively
(its lease is taken away: `current_job().lease_lost`, `checkpoint()`), then terminates it after
a grace period. Each bulk form returns what it did for the confirmation page and the message.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from celery import current_app
from django.db import transaction
from django.db.models import QuerySet

from jobs.broker import publish
from jobs.conf import conf
from jobs.console import revoke
from jobs.models import FINISHED_STATES, PENDING_STATES, Job, JobAttempt, JobState
from jobs.table import clock, sweeps, transitions

logger = logging.getLogger("jobs.console")


class JobActionError(Exception):
    """The action does not apply to this job (wrong state, task unknown …)."""


def job_retry(*, job: Job) -> str:
    """Put a failed or cancelled job back to waiting, as the same job; returns its id."""
    if job.state in (*PENDING_STATES, JobState.STARTED):
        return str(job.id)  # already waiting or running: retrying again changes nothing
    if job.state not in (JobState.FAILED, JobState.CANCELLED):
        raise JobActionError(f"job {job.id} is {job.state}, only failed or cancelled jobs can be retried")
    if job.task not in current_app.tasks:
        raise JobActionError(f"job {job.id}: task {job.task} is not known to this deployment")
    specs = sweeps.jobs_take_finished(str(job.id), clock.db_now())
    if not specs:  # someone else retried it meanwhile
        return str(job.id)
    revoke.unrevoke([str(job.id)])  # workers forget a revoke of this id, or they would drop it
    if not publish.job_publish(specs[0]):
        sweeps.jobs_unpublish([str(job.id)])  # the relay publishes it when the broker answers
    logger.info("job retried", extra={"fields": {"job_id": str(job.id), "task": job.task}})
    return str(job.id)


def job_cancel(*, job: Job, grace: float | None = None) -> Job:
    """Cancel a waiting job (it will not start) or a running one (cooperatively, then
    terminated after `grace` seconds, JOBS_CANCEL_GRACE by default). Its unique key is free at
    once."""
    was = transitions.job_cancel(
        str(job.id), clock.db_now(), running_too=True, reason="cancelled by an operator"
    )
    if was is None:
        job.refresh_from_db()
        raise JobActionError(f"job {job.id} is {job.state}, only waiting or running jobs can be cancelled")
    if was == JobState.STARTED:
        now = clock.db_now()
        transitions.attempt_insert(
            [
                {
                    "job_id": str(job.id),
                    "attempt": job.attempt,
                    "started_at": job.started_at or now,
                    "finished_at": now,
                    "worker": (job.worker or "")[:200],
                    "outcome": JobAttempt.Outcome.CANCELLED,
                    "error": "cancelled by an operator while running",
                }
            ]
        )
        revoke.terminate_later(str(job.id), conf().cancel_grace if grace is None else grace)
    else:
        current_app.control.revoke(str(job.id))  # a copy a worker already holds is dropped too
    job.refresh_from_db()
    return job


def job_discard(*, job: Job) -> None:
    """Remove a finished job (failed, cancelled, succeeded) and its attempts from the history.

    Waiting or running jobs are refused: cancel those first, so nothing that may still run
    loses its row (the row is what decides whether a delivery runs).
    """
    if job.state not in FINISHED_STATES:
        raise JobActionError(f"job {job.id} is {job.state}: cancel it before discarding")
    with transaction.atomic():
        JobAttempt.objects.filter(job_id=job.pk).delete()
        Job.objects.filter(pk=job.pk, state__in=FINISHED_STATES).delete()
    logger.info("job discarded", extra={"fields": {"job_id": str(job.id), "task": job.task}})


def jobs_pending_count(queue: str | None = None) -> int:
    qs = Job.objects.filter(state__in=PENDING_STATES)
    return (qs.filter(queue=queue) if queue else qs).count()


@dataclass
class BulkResult:
    """How a bulk action went: done, skipped (with why)."""

    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self, verb: str) -> str:
        text = f"{len(self.done)} job(s) {verb}"
        if self.skipped:
            reasons = Counter(self.skipped.values()).most_common(3)
            text += f"; {len(self.skipped)} skipped (" + "; ".join(f"{n}: {why}" for why, n in reasons) + ")"
        return text + "."


def _each(jobs: QuerySet[Job] | list[Job], action: Callable[..., object]) -> BulkResult:
    result = BulkResult()
    for job in jobs:
        try:
            action(job=job)
            result.done.append(str(job.id))
        except JobActionError as exc:
            result.skipped[str(job.id)] = str(exc).split(": ", 1)[-1].replace(str(job.id), "").strip()
        except Exception as exc:  # one broken job never stops the batch
            result.skipped[str(job.id)] = type(exc).__name__
    return result


def jobs_retry(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    """Retry each failed or cancelled job (the same job); waiting ones are skipped, not doubled."""
    wanted = [j for j in jobs if j.state in (JobState.FAILED, JobState.CANCELLED)]
    result = _each(wanted, job_retry)
    for j in jobs:
        if j not in wanted:
            result.skipped[str(j.id)] = f"{j.state}, nothing to retry"
    return result


def jobs_cancel(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    """Cancel each waiting or running job; finished ones are skipped with the reason."""
    return _each(jobs, job_cancel)


def jobs_discard(*, jobs: QuerySet[Job] | list[Job]) -> BulkResult:
    return _each(jobs, job_discard)

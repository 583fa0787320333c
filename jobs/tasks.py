"""Maintenance jobs, driven by beat (see jobs/schedules.py)."""

from jobs import job
from jobs.plugins.lifeline import jobs_rescue
from jobs.plugins.pruner import jobs_prune, jobs_prune_noop


@job(queue="default", single_flight=True, unique_for=300)
def prune_jobs() -> int:
    """Finished jobs past their queue's age, then no-op polls past their short retention."""
    return jobs_prune() + jobs_prune_noop()


@job(queue="default", single_flight=True, unique_for=60)
def rescue_jobs() -> int:
    return len(jobs_rescue())

"""Maintenance jobs, driven by beat (see jobs/schedules.py)."""

from jobs import job
from jobs.services import jobs_prune, jobs_rescue


@job(queue="default", single_flight=True, unique_for=300)
def prune_jobs() -> int:
    return jobs_prune()


@job(queue="default", single_flight=True, unique_for=60)
def rescue_jobs() -> int:
    return len(jobs_rescue())

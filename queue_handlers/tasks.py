"""The one dispatch task: every handler job runs through it (thin: the service does the work).

Per-type limits are cluster-wide (jobs layer, Redis): a job over its type's limit waits in the
scheduled set for its slot (state "scheduled", deferrals > 0) and is never dropped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs import job
from queue_handlers.base import RetryJob
from queue_handlers.registry import rate_limit_for
from queue_handlers.services import handler_job_run, handler_jobs_prune

# The task allows this many attempts; each handler stops earlier at its own max_attempts.
MAX_ATTEMPTS_CAP = 10


def handler_rate(job_type: str, **_kw: Any) -> tuple[str, str] | None:
    """(limit key, "N/Ps") for this job's type, read in the worker from settings/handler."""
    limit = rate_limit_for(job_type)
    return (f"handler:{job_type}", limit) if limit else None


@job(
    queue="handlers",
    max_attempts=MAX_ATTEMPTS_CAP,
    retry_on=(RetryJob,),
    backoff=(settings.HANDLER_RETRY_BACKOFF_BASE, settings.HANDLER_RETRY_BACKOFF_CAP),
    rate_limit=handler_rate,
    bind=True,
)
def handler_job_task(self: Any, job_type: str, handler_job_id: str) -> dict[str, Any]:
    return handler_job_run(
        job_type=job_type, handler_job_id=handler_job_id, attempt=(self.request.retries or 0) + 1
    )


@job(queue="default", single_flight=True, unique_for=300)
def handler_jobs_prune_task() -> int:
    return handler_jobs_prune()

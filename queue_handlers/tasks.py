"""The one dispatch task: every handler job runs through it (thin: the service does the work).

Per-type limits are cluster-wide (jobs layer, Redis): a job over its type's limit waits in the
scheduled set for its slot (state "scheduled", deferrals > 0) and is never dropped.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs import current_job, job
from queue_handlers.base import RetryJob
from queue_handlers.registry import rate_limit_for
from queue_handlers.services import handler_job_run, handler_jobs_prune

# The task's declared ceiling; each job is enqueued with its handler's own max_attempts (<= this).
MAX_ATTEMPTS_CAP = 10


def handler_rate(job_type: str, **_kw: Any) -> tuple[str, str] | None:
    """(limit key, "N/Ps") for this job's type, read in the worker from settings/handler."""
    limit = rate_limit_for(job_type)
    return (f"handler:{job_type}", limit) if limit else None


def handler_display(job_type: str = "?", **_kw: Any) -> str:
    """What the console calls the job: `handler:webhook`, not the dispatcher's task name."""
    return f"handler:{job_type}"


@job(
    queue="handlers",
    display=handler_display,
    max_attempts=MAX_ATTEMPTS_CAP,
    retry_on=(RetryJob,),
    backoff=(settings.HANDLER_RETRY_BACKOFF_BASE, settings.HANDLER_RETRY_BACKOFF_CAP),
    rate_limit=handler_rate,
)
def handler_job_task(job_type: str, handler_job_id: str) -> dict[str, Any]:
    """Enqueued with the handler's own max_attempts (services.enqueue_job), which the history
    shows; the handler's cap is also applied in handler_job_run, whatever the jobs layer does."""
    ctx = current_job()
    return handler_job_run(
        job_type=job_type, handler_job_id=handler_job_id, attempt=ctx.attempt if ctx else 1
    )


@job(queue="default", single_flight=True, unique_for=300)
def handler_jobs_prune_task() -> int:
    return handler_jobs_prune()

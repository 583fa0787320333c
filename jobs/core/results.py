"""A result backend that answers from the job table for job tasks, so `AsyncResult(job_id)`
`.state`, `.result` and `.get(timeout=…)` work as a Celery user expects, and from
django-celery-results' table for every other task (which it stores as before)."""

from __future__ import annotations

from typing import Any

from celery import current_app, states
from django_celery_results.backends.database import DatabaseBackend

from jobs.models import Job, JobState

CELERY_STATE = {
    JobState.SCHEDULED: states.PENDING,
    JobState.QUEUED: states.PENDING,
    JobState.STARTED: states.STARTED,
    JobState.RETRYING: states.RETRY,
    JobState.SUCCEEDED: states.SUCCESS,
    JobState.FAILED: states.FAILURE,
    JobState.CANCELLED: states.REVOKED,
}


class JobResultBackend(DatabaseBackend):
    def store_result(
        self, task_id: Any, result: Any, state: str, traceback: Any = None, request: Any = None, **kw: Any
    ) -> Any:
        """A job's outcome lives in its row: Celery's retry and failure marks write no task-result
        row for a job task (every other task's result is stored as before)."""
        task = current_app.tasks.get(getattr(request, "task", None) or "")
        if task is not None and hasattr(task, "job_options"):
            return result
        return super().store_result(task_id, result, state, traceback=traceback, request=request, **kw)

    def _get_task_meta_for(self, task_id: Any) -> dict[str, Any]:
        job = (
            Job.objects.filter(pk=_uuid(task_id))
            .only("state", "result", "last_error", "finished_at", "task", "attempt")
            .first()
            if _uuid(task_id)
            else None
        )
        if job is None:
            return super()._get_task_meta_for(task_id)
        state = CELERY_STATE[JobState(job.state)]
        result: Any = job.result
        if state == states.FAILURE:
            exc_type, _, message = (job.last_error or "Error: job failed").partition(": ")
            result = self.exception_to_python(
                {
                    "exc_type": "JobFailed",
                    "exc_message": [f"{exc_type}: {message}"],
                    "exc_module": "jobs.core.results",
                }
            )
        elif state == states.REVOKED:
            result = self.exception_to_python(
                {
                    "exc_type": "TaskRevokedError",
                    "exc_message": ["cancelled"],
                    "exc_module": "celery.exceptions",
                }
            )
        return {
            "task_id": str(task_id),
            "status": state,
            "result": result,
            "traceback": None,
            "date_done": job.finished_at,
            "name": job.task,
            "retries": max(job.attempt - 1, 0),
            "children": [],
        }


class JobFailed(Exception):
    """The job failed for good; the message is its last error as the job table keeps it."""


def _uuid(value: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None

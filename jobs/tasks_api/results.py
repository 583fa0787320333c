"""A job row read as Django's `TaskResult`: `get_result(id)` and `result.refresh()` answer from
the job table, so they tell what the workers did whatever process asks.

State mapping (job table → TaskResultStatus):
- scheduled, queued, retrying → READY (waiting to run, first time or again)
- started → RUNNING
- succeeded → SUCCESSFUL (`return_value` is the job's stored result)
- failed, cancelled → FAILED (a cancelled job ran, or will run, no more)

`worker_ids` has one entry per attempt (the worker each ran on), so Django's `attempts` is the
job's attempt count; `errors` one entry per failed, retried or lost attempt. `args`/`kwargs` are
the shown ones: a sensitive argument reads "[filtered]", never its value.
"""

from __future__ import annotations

import builtins
import sys
from datetime import datetime
from typing import Any

from jobs.tasks_api.compat import Task, TaskError, TaskResult, TaskResultStatus, set_field

PREFIX = "django_tasks:"

STATUS = {
    "scheduled": TaskResultStatus.READY,
    "queued": TaskResultStatus.READY,
    "retrying": TaskResultStatus.READY,
    "started": TaskResultStatus.RUNNING,
    "succeeded": TaskResultStatus.SUCCESSFUL,
    "failed": TaskResultStatus.FAILED,
    "cancelled": TaskResultStatus.FAILED,
}
ERROR_OUTCOMES = ("failed", "retrying", "lost")


class WorkerLost(Exception):
    """An attempt's error when the process running it died (its lease lapsed): no exception
    was raised, the attempt ended all the same."""


def job_name(module_path: str) -> str:
    """The Celery task name (and the job table's `task`) of a Django task."""
    return PREFIX + module_path


def result_build(
    *,
    task: Task,
    job_id: str,
    status: Any,
    backend: str,
    args: Any = (),
    kwargs: Any = None,
    enqueued_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    errors: list[TaskError] | None = None,
    worker_ids: list[str] | None = None,
    return_value: Any = None,
) -> TaskResult:
    result: TaskResult = TaskResult(
        task=task,
        id=job_id,
        status=status,
        enqueued_at=enqueued_at,
        started_at=started_at,
        last_attempted_at=started_at,
        finished_at=finished_at,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        backend=backend,
        errors=errors or [],
        worker_ids=worker_ids or [],
    )
    set_field(result, "_return_value", return_value)
    return result


def result_from_row(*, job: Any, task: Task, backend: str) -> TaskResult:
    """The TaskResult a job row tells (attempt rows give the workers and the errors)."""
    from jobs.models import JobAttempt

    attempts = list(
        JobAttempt.objects.filter(job_id=job.id)
        .order_by("attempt", "started_at")
        .values_list("attempt", "worker", "outcome", "error")
    )
    by_attempt: dict[int, str] = {}
    for number, worker, _outcome, _error in attempts:
        by_attempt[number] = worker or by_attempt.get(number, "")
    # Attempt rows are written behind (a fraction of a second): the row's own count is the truth.
    worker_ids = [by_attempt.get(n) or (job.worker or "") for n in range(1, job.attempt + 1)]
    errors = [
        error_build(error, task, lost=outcome == "lost")
        for _n, _w, outcome, error in attempts
        if outcome in ERROR_OUTCOMES and error
    ]
    if job.state == "failed" and not errors and job.last_error:
        errors.append(error_build(job.last_error, task))
    return result_build(
        task=task,
        job_id=str(job.id),
        status=STATUS[job.state],
        backend=backend,
        args=job.args,
        kwargs=job.kwargs,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        errors=errors,
        worker_ids=worker_ids,
        return_value=job.result if job.state == "succeeded" else None,
    )


def error_build(text: str, task: Task, lost: bool = False) -> TaskError:
    """The layer keeps "ExcType: message" (no traceback: it may carry arguments); the class
    path is found among the builtins or in the task's module, else the bare name is given."""
    if lost:
        return TaskError(exception_class_path=f"{__name__}.WorkerLost", traceback=text)
    name = text.partition(":")[0].strip()
    return TaskError(exception_class_path=_class_path(name, task), traceback=text)


def _class_path(name: str, task: Task) -> str:
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"builtins.{name}"
    module = sys.modules.get(task.func.__module__)
    found = getattr(module, name, None) if module else None
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"{found.__module__}.{found.__qualname__}"
    return name

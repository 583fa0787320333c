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
import dataclasses
import sys
from datetime import datetime
from typing import Any

from jobs.tasks_api.compat import Task, TaskError, TaskResult, TaskResultStatus, normalize_json, set_field

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
    """A TaskResult, equal to the one its constructor makes. Made without the constructor when
    this Django's TaskResult has the fields known here: its __init__ and __post_init__ (two
    `normalize_json` walks through ABC checks) were most of the Tasks API's own cost per
    enqueue, for arguments that are mostly plain JSON scalars already; any other argument is
    still normalised by Django's own `normalize_json` (which also refuses what JSON cannot
    hold, as the constructor would)."""
    args, kwargs = args or (), kwargs or {}
    errors, worker_ids = errors or [], worker_ids or []
    if not _BYPASS:
        made: TaskResult = TaskResult(
            task=task,
            id=job_id,
            status=status,
            enqueued_at=enqueued_at,
            started_at=started_at,
            last_attempted_at=started_at,
            finished_at=finished_at,
            args=args,
            kwargs=kwargs,
            backend=backend,
            errors=errors,
            worker_ids=worker_ids,
        )
        set_field(made, "_return_value", return_value)
        return made
    result: TaskResult = _new(TaskResult)
    _set(result, "task", task)
    _set(result, "id", job_id)
    _set(result, "status", status)
    _set(result, "enqueued_at", enqueued_at)
    _set(result, "started_at", started_at)
    _set(result, "last_attempted_at", started_at)
    _set(result, "finished_at", finished_at)
    _set(result, "args", _json_args(args))
    _set(result, "kwargs", _json_kwargs(kwargs))
    _set(result, "backend", backend)
    _set(result, "errors", errors)
    _set(result, "worker_ids", worker_ids)
    _set(result, "_return_value", return_value)
    return result


_new = object.__new__
_set = object.__setattr__  # TaskResult is frozen: set as its own __init__ does


# TaskResult's fields as Django 5.2's backport and Django 6.0 declare them; another set (a later
# Django) makes result_build use the constructor, so no field is ever left unset.
_FIELDS = frozenset(
    {
        "task",
        "id",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "last_attempted_at",
        "args",
        "kwargs",
        "backend",
        "errors",
        "worker_ids",
        "_return_value",
    }
)
_BYPASS = {f.name for f in dataclasses.fields(TaskResult)} == _FIELDS
_SCALARS = frozenset({str, int, float, bool, type(None)})  # normalize_json keeps these as they are


def _json_args(args: Any) -> list:
    """normalize_json(args): a list; the same list of the same values when all are scalars."""
    if not args:
        return []
    if type(args) in (tuple, list) and all(type(a) in _SCALARS for a in args):
        return list(args)
    return normalize_json(args)


def _json_kwargs(kwargs: Any) -> dict[str, Any]:
    """normalize_json(kwargs): a dict; a copy when keys are strings and values scalars."""
    if not kwargs:
        return {}
    if type(kwargs) is dict and all(type(k) is str and type(v) in _SCALARS for k, v in kwargs.items()):
        return dict(kwargs)
    return normalize_json(kwargs)


def result_from_row(*, job: Any, task: Task, backend: str) -> TaskResult:
    """The TaskResult a job row tells (attempt rows give the workers and the errors)."""
    from jobs.models import JobAttempt  # at call time: this module loads with the backend (see get_result)

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

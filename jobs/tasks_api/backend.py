"""`DjangoTasksBackend`: Django's Tasks API (`@task`, `.enqueue()`, `get_result`) on the jobs layer.

    TASKS = {"default": {"BACKEND": "jobs.tasks_api.DjangoTasksBackend", "QUEUES": ["default", "emails"]}}

Each Django task gets one generated job task (Celery name "django_tasks:<module path>", made
with the layer's own `job(...)`), created when the `@task` is declared. So enqueue is the
layer's: the row is written in the caller's transaction and published on commit; execution,
leases, rescue, retries, pruning and the console are the layer's too. Oban's extras come from
`TASKS[alias]["OPTIONS"]` (per queue) and from `@job_options(...)` under `@task`.

Priority: Django's -100…100 (higher runs first) maps linearly onto the layer's 0–9, where the
Redis broker serves 0 first: 100 → 0, 0 → 5, -100 → 9 (`layer_priority`). Redis keeps four
steps (0, 3, 6, 9): 34…100 share the first, -32…33 the second, -99…-33 the third.
"""

from __future__ import annotations

import inspect
import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.core.context import LeaseLost, Snooze, current_job
from jobs.core.decorators import job
from jobs.tasks_api.compat import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskContext,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    normalize_json,
    task_enqueued,
    task_finished,
    task_started,
)
from jobs.tasks_api.results import PREFIX, job_name, result_build, result_from_row

# job(...) options a Django task may take (queue and priority come from Django's own API).
JOB_OPTIONS = frozenset(
    {
        "max_attempts",
        "backoff",
        "retry_on",
        "unique_for",
        "unique_on",
        "unique_until_done",
        "rate_limit",
        "rate_key",
        "single_flight",
        "sensitive",
        "poll",
    }
)
MAX_NAME = 200  # the job table's `task` column
MAX_VALIDATED = 1024  # Tasks remembered as valid per backend (see DjangoTasksBackend.validate_task)

_declared: dict[str, Task] = {}  # module path -> the Task as `@task` declared it
_generated: dict[str, Any] = {}  # module path -> its job task
_lock = threading.Lock()


def job_options(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Oban's extras for one Django task; put it under `@task` (it marks the function):

    @task(queue_name="emails")
    @job_options(max_attempts=5, unique_for=60, sensitive=["token"])
    def send_welcome(user_id: int, token: str) -> None: ...
    """
    unknown = set(options) - JOB_OPTIONS
    if unknown:
        raise TypeError(f"job_options: unknown option(s) {sorted(unknown)}; allowed: {sorted(JOB_OPTIONS)}")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        if isinstance(fn, Task):
            raise TypeError("job_options goes under @task (applied to the function first)")
        fn._jobs_options = dict(options)  # type: ignore[attr-defined]
        return fn

    return mark


def layer_priority(priority: int) -> int:
    """Django's -100 (last) … 100 (first) onto the layer's 9 (last) … 0 (first)."""
    return int((100 - priority) * 9 / 200 + 0.5)


class DjangoTasksBackend(BaseTaskBackend):
    supports_defer = True
    supports_get_result = True
    supports_priority = True
    supports_async_task = False  # the layer's bodies are synchronous Celery tasks

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        opts = self.options or {}
        self.default_options = dict(opts.get("defaults", {}))
        self.queue_options = {q: dict(o) for q, o in (opts.get("queues") or {}).items()}
        for where in (self.default_options, *self.queue_options.values()):
            unknown = set(where) - JOB_OPTIONS
            if unknown:
                raise InvalidTask(f"TASKS[{alias!r}]['OPTIONS']: unknown job option(s) {sorted(unknown)}")
        self._ready: dict[Task, tuple[dict[str, Any], Any]] = {}  # valid Task -> (options, job task)
        self._senders: dict[int, Callable[..., Any]] = {}  # id(job task) -> its enqueue_with

    # -- declaration ---------------------------------------------------------------------------
    def validate_task(self, task: Task) -> None:
        """Django validates a Task when it is made (`@task`, `.using()`) and backends again on
        each enqueue: the verdict depends only on the Task's fields (a frozen, hashable
        dataclass) and this backend's settings, fixed at its creation (changed TASKS make a new
        backend), so a Task that passed once is not checked again; measured, the re-check
        (`inspect.signature` under `get_func_args` among it) was a third of the API's own cost
        per enqueue. A Task with a run_after is checked every time: it also depends on USE_TZ,
        and one-off datetimes would only fill the memo."""
        self._plan(task)

    def _plan(self, task: Task) -> tuple[dict[str, Any], Any]:
        """A valid Task's enqueue options and job task, remembered with the verdict."""
        known = self._ready.get(task)
        if known is not None:
            return known
        super().validate_task(task)
        if len(job_name(task.module_path)) > MAX_NAME:
            raise InvalidTask(f"module path too long for the job table (max {MAX_NAME - len(PREFIX)})")
        made = self.job_task(task)  # declared: generated now, so a worker that imported it can run it
        options: dict[str, Any] = {"queue": task.queue_name, "priority": layer_priority(task.priority)}
        if task.run_after is not None:
            return options | {"eta": task.run_after}, made
        if len(self._ready) < MAX_VALIDATED:
            self._ready[task] = (options, made)
        return options, made

    def job_task(self, task: Task) -> Any:
        """The generated job task of a Django task (made once per module path)."""
        path = task.module_path
        found = _generated.get(path)
        if found is not None:
            return found
        with _lock:
            if path not in _generated:
                _declared.setdefault(path, task)
                _generated[path] = self._generate(task)
            return _generated[path]

    def _generate(self, task: Task) -> Any:
        options = self.default_options | self.queue_options.get(task.queue_name, {})
        options |= getattr(task.func, "_jobs_options", {})
        try:
            make = job(queue=task.queue_name, name=job_name(task.module_path), **options)
            return make(_body(task))
        except (TypeError, ValueError) as exc:
            raise InvalidTask(f"{task.module_path}: {exc}") from None

    # -- enqueue and results ---------------------------------------------------------------------
    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        options, made = self._plan(task)
        send = self._senders.get(id(made))  # (hashing the proxy would evaluate it too)
        if send is None:  # the job task's own method, not looked up through Celery's lazy proxy
            send = self._senders[id(made)] = made.enqueue_with
        now = timezone.now()
        enqueued = send(args, kwargs, **options)
        if enqueued.duplicate:  # a unique job already holds the key: its result, as it stands
            result = self.get_result(enqueued.job_id)
        else:
            result = result_build(
                task=task,
                job_id=enqueued.job_id,
                status=TaskResultStatus.READY,
                backend=self.alias,
                args=args,
                kwargs=kwargs,
                enqueued_at=now,
            )
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        # Django loads a Tasks backend whenever `task_backends` is first touched, possibly while
        # apps are still loading: the model is imported when a result is asked for.
        from jobs.models import Job

        try:
            job_id = uuid.UUID(str(result_id))
        except ValueError:
            raise TaskResultDoesNotExist(result_id) from None
        job = Job.objects.filter(pk=job_id).first()
        if job is None or not job.task.startswith(PREFIX):
            raise TaskResultDoesNotExist(result_id)
        task = declared_task(job.task[len(PREFIX) :])
        if task is None:
            raise TaskResultDoesNotExist(f"{result_id}: task {job.task} cannot be imported here")
        return result_from_row(job=job, task=task, backend=self.alias)


def declared_task(module_path: str) -> Task | None:
    """The Django task of a module path: as declared here, or imported on first use."""
    task = _declared.get(module_path)
    if task is None:
        try:
            found = import_string(module_path)
        except ImportError:
            return None
        task = found if isinstance(found, Task) else None
        if task is not None:
            _declared.setdefault(module_path, task)
    return task


def _body(task: Task) -> Callable[..., Any]:
    """The job body: the Django function's signature (so enqueue checks arguments and unique_on
    names them), running it with the TaskContext and the signals Django's API promises."""
    path = task.module_path

    def body(*args: Any, **kwargs: Any) -> Any:
        return _run(path, args, kwargs)

    sig = inspect.signature(task.func)
    params = list(sig.parameters.values())[1 if task.takes_context else 0 :]
    body.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    body.__name__ = task.func.__name__
    body.__qualname__ = task.func.__qualname__
    body.__module__ = task.func.__module__
    body.__doc__ = task.func.__doc__
    return body


def _run(path: str, args: tuple, kwargs: dict) -> Any:
    task = _declared[path]
    backend = task.get_backend()
    ctx = current_job()
    result = _running(task, backend, ctx, args, kwargs)
    task_started.send(type(backend), task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
    except (Snooze, LeaseLost):  # not an ending: the job waits, or another run owns it
        raise
    except Exception as exc:
        if ctx is None or ctx.is_final or not isinstance(exc, _retry_on(path)):
            _finish(backend, result, TaskResultStatus.FAILED)
        raise
    _finish(backend, result, TaskResultStatus.SUCCESSFUL, normalize_json(value))
    return value


def _running(task: Task, backend: Any, ctx: Any, args: tuple, kwargs: dict) -> TaskResult:
    """The result a running task sees: read from its row when it takes a context (previous
    attempts' workers and errors), else built here (the signals' receivers need no query)."""
    if ctx is None:  # called directly (tests, eager): no row
        return result_build(task=task, job_id="", status=TaskResultStatus.RUNNING, backend=backend.alias)
    if task.takes_context:
        try:
            result = backend.get_result(ctx.job_id)
            object.__setattr__(result, "status", TaskResultStatus.RUNNING)
            return result
        except TaskResultDoesNotExist:
            pass
    return result_build(
        task=task,
        job_id=ctx.job_id,
        status=TaskResultStatus.RUNNING,
        backend=backend.alias,
        started_at=timezone.now(),
        worker_ids=[""] * (ctx.attempt - 1) + [ctx.holder.worker if ctx.holder else ""],
    )


def _retry_on(path: str) -> tuple[type[BaseException], ...]:
    return tuple(_generated[path].job_options.retry_on)


def _finish(backend: Any, result: TaskResult, status: Any, value: Any = None) -> None:
    object.__setattr__(result, "status", status)
    object.__setattr__(result, "finished_at", timezone.now())
    object.__setattr__(result, "_return_value", value)
    task_finished.send(type(backend), task_result=result)

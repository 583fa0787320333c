"""The jobs layer: Oban's guarantees on Celery. Apps import only the names below.

    from jobs import job, Snooze, current_job

- `job(...)`           declare a task (queue, retries, uniqueness, limits, sensitive arguments)
- `Enqueued`           what `task.enqueue(...)` returns: job_id, state, duplicate
- `JobState`, `Job`    the job table and its states (read-only for apps)
- `Snooze(seconds)`    raise from a job body: come back later, not an attempt
- `current_job()`      attempt, max_attempts, is_final of the running job
- `single_flight(name)` a cluster-wide "one at a time" block outside a job
- `enqueue_many`       bulk enqueue: `enqueue_many(task, [kwargs, ...])`
- `Schedule`           a beat schedule declared in `<app>/schedules.py`
- `register_check`     add a section to the health report; `check_broker` the broker's own
- `register_link`      name the model a job keyword argument points at (the job page links it)
- `queue_depth(name)`  messages waiting in a broker queue, for any broker (0 when it has none)
- `TRANSIENT_ERRORS`   the database, broker or coordinator away for a moment: retry these
- `LeaseLost`          raised by `current_job().checkpoint()` when this run lost its job

Django's Tasks API on this layer: `TASKS = {"default": {"BACKEND": "jobs.tasks_api.DjangoTasksBackend"}}`,
Oban's extras for a `@task` with `jobs.tasks_api.job_options` (docs/use-it-in-your-project.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.core.context import JobContext, LeaseLost, Snooze, current_job
from jobs.core.decorators import job

if TYPE_CHECKING:  # the lazy names below, as the type checker sees them
    from jobs.broker.depth import queue_depth
    from jobs.console.links import register_link
    from jobs.coordination import TRANSIENT_ERRORS
    from jobs.core.options import RateLimit
    from jobs.core.single_flight import single_flight
    from jobs.core.task import Enqueued, enqueue_many
    from jobs.models import FINISHED_STATES, PENDING_STATES, Job, JobState
    from jobs.observe.health import check_broker, register_check
    from jobs.plugins.cron import Schedule

__all__ = [
    "FINISHED_STATES",
    "PENDING_STATES",
    "Enqueued",
    "Job",
    "JobContext",
    "JobState",
    "LeaseLost",
    "RateLimit",
    "Schedule",
    "Snooze",
    "TRANSIENT_ERRORS",
    "check_broker",
    "current_job",
    "enqueue_many",
    "job",
    "queue_depth",
    "register_check",
    "register_link",
    "single_flight",
]

# Names whose modules touch models: imported on first use, after Django's apps are ready.
_LAZY = {
    "Enqueued": "jobs.core.task",
    "enqueue_many": "jobs.core.task",
    "Job": "jobs.models",
    "JobState": "jobs.models",
    "FINISHED_STATES": "jobs.models",
    "PENDING_STATES": "jobs.models",
    "RateLimit": "jobs.core.options",
    "Schedule": "jobs.plugins.cron",
    "register_check": "jobs.observe.health",
    "check_broker": "jobs.observe.health",
    "register_link": "jobs.console.links",
    "queue_depth": "jobs.broker.depth",
    "TRANSIENT_ERRORS": "jobs.coordination",
    "single_flight": "jobs.core.single_flight",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jobs' has no attribute {name!r}")

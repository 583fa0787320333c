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
"""

from __future__ import annotations

from typing import Any

from jobs.context import JobContext, Snooze, current_job
from jobs.decorators import job

__all__ = [
    "FINISHED_STATES",
    "PENDING_STATES",
    "Enqueued",
    "Job",
    "JobContext",
    "JobState",
    "RateLimit",
    "Schedule",
    "check_broker",
    "Snooze",
    "current_job",
    "enqueue_many",
    "job",
    "register_check",
    "single_flight",
]

# Names whose modules touch models: imported on first use, after Django's apps are ready.
_LAZY = {
    "Enqueued": "jobs.task",
    "enqueue_many": "jobs.task",
    "Job": "jobs.models",
    "JobState": "jobs.models",
    "FINISHED_STATES": "jobs.models",
    "PENDING_STATES": "jobs.models",
    "RateLimit": "jobs.options",
    "Schedule": "jobs.schedules",
    "register_check": "jobs.health",
    "check_broker": "jobs.health",
    "single_flight": "jobs.leases",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'jobs' has no attribute {name!r}")

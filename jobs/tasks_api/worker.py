"""A worker runs Django tasks it was never told about: a delivery named "django_tasks:<path>"
that this worker has no task for (the module was not imported at start: not an app's
`tasks.py`, not in CELERY_IMPORTS) imports the module path, which declares the task and
generates its job task; the worker learns it and the job is published again at once (Celery
has already turned that delivery away). A path that does not import stays unknown; its job
row is untouched, so the console shows it queued and a worker that knows it can run it.

Connected from jobs.apps (every process) — only worker consumers send `task_unknown`.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_unknown, worker_init

logger = logging.getLogger("jobs.tasks_api")


def connect() -> None:
    task_unknown.connect(task_learn, dispatch_uid="jobs.tasks_api.learn", weak=False)
    worker_init.connect(registry_learn, dispatch_uid="jobs.tasks_api.registry", weak=False)


def registry_learn(sender: Any = None, **_kw: Any) -> None:
    """The worker's task registry imports a Django task's module on a miss by name (pool
    processes look tasks up by name, and forked before the parent learnt it)."""
    registry = sender.app._tasks
    base = type(registry)
    if getattr(base, "_jobs_learning", False):
        return

    class LearningRegistry(base):  # type: ignore[valid-type,misc]
        _jobs_learning = True

        def __missing__(self, key: Any) -> Any:
            from jobs.tasks_api.backend import declared_task
            from jobs.tasks_api.results import PREFIX

            if isinstance(key, str) and key.startswith(PREFIX) and declared_task(key[len(PREFIX) :]):
                if dict.__contains__(self, key):
                    return _traced(dict.__getitem__(self, key))
            return super().__missing__(key)

    registry.__class__ = LearningRegistry


def _traced(celery_task: Any) -> Any:
    """A pool process traces a task with a tracer built at its start: build this one's now."""
    from socket import gethostname

    from celery.app import trace

    if getattr(celery_task, "__trace__", None) is None:
        localized = getattr(trace, "_localized", [])  # (tasks, accept, hostname) of this pool process
        hostname = localized[2] if len(localized) > 2 else gethostname()
        app = celery_task._get_app()
        celery_task.__trace__ = trace.build_tracer(
            celery_task.name, celery_task, app.loader, hostname, app=app
        )
    return celery_task


def task_learn(sender: Any = None, name: str = "", id: str = "", **_kw: Any) -> None:
    from celery.app.trace import build_tracer

    from jobs.tasks_api.backend import declared_task
    from jobs.tasks_api.results import PREFIX

    if not name.startswith(PREFIX) or sender is None:
        return
    task = declared_task(name[len(PREFIX) :])
    celery_task = sender.app.tasks.get(name) if task is not None else None
    if celery_task is None:
        logger.warning("django task %s: cannot import it in this worker (job %s left queued)", name, id)
        return
    sender.strategies[name] = celery_task.start_strategy(sender.app, sender)
    celery_task.__trace__ = build_tracer(
        name, celery_task, sender.app.loader, sender.hostname, app=sender.app
    )
    _publish_again(id)


def _publish_again(job_id: str) -> None:
    from jobs.broker.publish import job_publish
    from jobs.models import Job

    row = Job.objects.filter(pk=job_id, state="queued").values("task", "queue", "priority", "args", "kwargs")
    for spec in row:
        job_publish(spec | {"id": job_id, "attempt": 0, "deferrals": 0})

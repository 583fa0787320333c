"""A worker runs Django tasks it was never told about: a delivery named "django_tasks:<path>"
that this worker has no task for (the module was not imported at start: not an app's
`tasks.py`, not in CELERY_IMPORTS) imports the module path, which declares the task and
generates its job task, and runs it — on this first delivery. A path that does not import
stays unknown and Celery's consumer handles the message as any unknown task.

Two misses are covered, both by name: the consumer's strategy lookup (a dict whose miss
learns the task, built by Celery's `Consumer.Strategies`, which `connect` replaces) and the
pool process's task lookup (its registry's miss learns the task: prefork children were forked
before the parent learnt it). Connected from jobs.apps; only workers build consumers.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init
from celery.worker.consumer.consumer import Consumer

from jobs.tasks_api.backend import declared_task
from jobs.tasks_api.results import PREFIX


def connect() -> None:
    # Consumer.__init__ does `self.strategies = self.Strategies()`: a function here is bound,
    # so the dict knows its consumer. Subclasses of Celery's Consumer inherit it.
    Consumer.Strategies = _strategies  # type: ignore[assignment]
    worker_init.connect(registry_learn, dispatch_uid="jobs.tasks_api.registry", weak=False)


def _learn(name: Any) -> bool:
    """Import a Django task's module by its job task's name; True if it is now declared."""
    if not isinstance(name, str) or not name.startswith(PREFIX):
        return False
    return declared_task(name[len(PREFIX) :]) is not None


class LearningStrategies(dict):
    def __init__(self, consumer: Any) -> None:
        super().__init__()
        self.consumer = consumer

    def __missing__(self, name: Any) -> Any:
        app = self.consumer.app
        if not _learn(name) or not dict.__contains__(app.tasks, name):
            raise KeyError(name)
        celery_task = _traced(app.tasks[name])
        self[name] = strategy = celery_task.start_strategy(app, self.consumer)
        return strategy


def _strategies(consumer: Any) -> LearningStrategies:
    return LearningStrategies(consumer)


def registry_learn(sender: Any = None, **_kw: Any) -> None:
    """The worker's task registry learns a Django task on a miss by name (before any fork)."""
    registry = sender.app._tasks
    base = type(registry)
    if getattr(base, "_jobs_learning", False):
        return

    class LearningRegistry(base):  # type: ignore[valid-type,misc]
        _jobs_learning = True

        def __missing__(self, key: Any) -> Any:
            if _learn(key) and dict.__contains__(self, key):
                return _traced(dict.__getitem__(self, key))
            return super().__missing__(key)

    registry.__class__ = LearningRegistry


def _traced(celery_task: Any) -> Any:
    """A worker traces a task with a tracer built at its start: build this one's now."""
    from socket import gethostname

    from celery.app import trace

    if getattr(celery_task, "__trace__", None) is None:
        localized = getattr(trace, "_localized", [])  # (tasks, accept, hostname) of a pool process
        hostname = localized[2] if len(localized) > 2 else gethostname()
        app = celery_task._get_app()
        celery_task.__trace__ = trace.build_tracer(
            celery_task.name, celery_task, app.loader, hostname, app=app
        )
    return celery_task

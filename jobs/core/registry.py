"""The job tasks this deployment knows: every `@job` task of an installed app, whatever the
process (a web process never ran Celery's autodiscovery)."""

from __future__ import annotations

import functools
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from celery import current_app
from django.apps import apps

from jobs.conf import conf


@functools.cache
def _imported() -> frozenset[str]:
    names = {cfg.name for cfg in apps.get_app_configs()}
    for name in sorted(names):  # what autodiscover_tasks() imports, without Celery's signals
        if find_spec(name) and find_spec(f"{name}.tasks"):
            import_module(f"{name}.tasks")
    return frozenset(names)


def job_tasks() -> dict[str, Any]:
    """task name -> task, for every `@job` task of an installed app."""
    app_names = _imported()
    return {
        name: task
        for name, task in current_app.tasks.items()
        if getattr(task, "job_options", None) is not None and task.__module__.split(".")[0] in app_names
    }


def poll_tasks() -> list[str]:
    """Tasks declared `@job(poll=True)`, and any named in JOBS_POLL_TASKS."""
    declared = {name for name, task in job_tasks().items() if task.job_options.poll}
    return sorted(declared | set(conf().poll_tasks))

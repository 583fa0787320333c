"""`manage.py check`: every job's queue is declared and consumed.

A job whose queue is missing from `project.celery.QUEUES` or from the workers' `-Q` lists is
accepted at enqueue and then waits forever: nobody consumes it. The `@job(queue=...)` is the one
source of truth (no `task_routes`); this check makes the other three places agree with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from jobs.broker import queues as celery_queues
from jobs.core.registry import job_tasks

_Q = re.compile(r"(?:-Q|--queues)[ =]([\w,.\-]+)")


def declared_queues(path: Path) -> set[str] | None:
    """The union of the `-Q a,b,c` lists in a Procfile or compose file; None if it is missing."""
    if not path.exists():
        return None
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    return {q for match in _Q.findall(text) for q in match.split(",") if q}


def job_queues() -> dict[str, str]:
    """task name -> queue, for every `@job` task of an installed app."""
    return {name: task.job_options.queue for name, task in job_tasks().items()}


@checks.register(checks.Tags.compatibility)
def check_job_queues(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    QUEUES = celery_queues.declared_queues()

    base = Path(getattr(settings, "BASE_DIR", "") or ".")  # a project without BASE_DIR: its cwd
    sources = {
        "Celery's task_queues": set(QUEUES),
        "Procfile": declared_queues(base / "Procfile"),
        "docker-compose.yml": declared_queues(base / "docker-compose.yml"),
    }
    errors: list[checks.CheckMessage] = []
    for task, queue in sorted(job_queues().items()):
        for where, queues in sources.items():
            if queues is not None and queue not in queues:
                errors.append(
                    checks.Error(
                        f"task {task} runs on queue {queue!r}, which {where} does not list",
                        hint=f"add {queue!r} to {where} (a worker's -Q list), or change the @job's queue",
                        id="jobs.E001",
                    )
                )
    return errors

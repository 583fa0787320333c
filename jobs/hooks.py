"""Process start hooks of the operator's side.

When beat starts, the beat entries named in JOBS_RUN_AT_BEAT_START (default: the sync
catch-up) run once at once instead of after their first interval: a first `make run` after the
nightly slot starts the day's sync within seconds, and health turns green within a minute.
"""

from __future__ import annotations

import json
import logging
from importlib import import_module
from typing import Any

from celery.signals import beat_init
from django.conf import settings

logger = logging.getLogger("jobs")


@beat_init.connect(dispatch_uid="jobs.hooks.beat_init")
def run_at_beat_start(sender: Any = None, **kwargs: Any) -> list[str]:
    from celery import current_app
    from django_celery_beat.models import PeriodicTask

    sent = []
    for entry in PeriodicTask.objects.filter(name__in=settings.JOBS_RUN_AT_BEAT_START, enabled=True):
        if entry.task not in current_app.tasks:  # beat has not imported the app's tasks yet
            try:
                import_module(entry.task.rsplit(".", 1)[0])
            except ImportError:
                logger.warning("start-up run: no module for %s", entry.task)
                continue
        task = current_app.tasks.get(entry.task)
        if task is None:
            continue
        try:
            task.apply_async(
                args=json.loads(entry.args or "[]"),
                kwargs=json.loads(entry.kwargs or "{}"),
                **({"queue": entry.queue} if entry.queue else {}),
            )
            sent.append(entry.name)
        except Exception as exc:  # the entry still runs at its interval
            logger.warning("start-up run failed: %s %s", entry.name, type(exc).__name__)
    if sent:
        logger.info("ran at beat start", extra={"fields": {"entries": ",".join(sent)}})
    return sent

"""Schedules in code, by name. Each app lists its own in `<app>/schedules.py` as SCHEDULES.

A row is created when missing and never touched once it exists, so a deploy keeps what an
operator switched off or re-timed in the admin.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from celery import current_app
from django.apps import apps
from django.db import transaction

from jobs.conf import conf

logger = logging.getLogger("jobs")


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"
    timezone: str = "UTC"
    every: float | None = None  # seconds
    enabled: bool = True
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    description: str = ""


def all_schedules() -> list[Schedule]:
    found: list[Schedule] = []
    for cfg in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{cfg.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{cfg.name}.schedules":
                raise
            continue
        found.extend(getattr(module, "SCHEDULES", []))
    return found


def ensure_schedule(s: Schedule) -> tuple[Any, bool]:
    from django_celery_beat.models import (
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
    )

    existing = PeriodicTask.objects.filter(name=s.name).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        fields: dict[str, Any] = {
            "task": s.task,
            "enabled": s.enabled,
            "kwargs": json.dumps(s.kwargs),
            "queue": s.queue,
            "description": s.description,
        }
        if s.crontab:
            minute, hour, dom, moy, dow = s.crontab.split()
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=dom,
                month_of_year=moy,
                day_of_week=dow,
                timezone=s.timezone,
            )
        elif s.every:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=int(s.every) if s.every >= 1 else 1, period=IntervalSchedule.SECONDS
            )
        else:
            raise ValueError(f"schedule {s.name} needs crontab or every")
        return PeriodicTask.objects.get_or_create(name=s.name, defaults=fields)


def ensure_schedules() -> list[tuple[str, bool]]:
    return [(s.name, ensure_schedule(s)[1]) for s in all_schedules()]


SCHEDULES = [
    Schedule(
        name="jobs.prune",
        task="jobs.tasks.prune_jobs",
        crontab="17 * * * *",
        description="Delete finished job records and results past their age",
    ),
    Schedule(
        name="jobs.rescue",
        task="jobs.tasks.rescue_jobs",
        every=300,
        description="Re-queue jobs left started by a worker that is gone",
    ),
]


def run_at_beat_start(sender: Any = None, **kwargs: Any) -> list[str]:
    """When beat starts, the entries named in JOBS_RUN_AT_BEAT_START (default: the sync catch-up)
    run once at once instead of after their first interval: a first `make run` after the nightly
    slot starts the day's sync within seconds."""
    from django_celery_beat.models import PeriodicTask

    sent = []
    for entry in PeriodicTask.objects.filter(name__in=list(conf().run_at_beat_start), enabled=True):
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

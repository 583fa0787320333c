"""Schedules in code, by name. Each app lists its own in `<app>/schedules.py` as SCHEDULES.

A row is created when missing and never touched once it exists, so a deploy keeps what an
operator switched off or re-timed in the admin.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction


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

"""Wiring into Celery's and Django's life cycle."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown
from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from jobs.runtime import runtime

logger = logging.getLogger("jobs")


@worker_ready.connect
def _start_mover(sender: Any = None, **_kw: Any) -> None:
    """Each worker node moves due jobs onto their queues and reconciles (any node may: every
    move is a conditional update of the job table)."""
    runtime().start_mover()
    if settings.EMBEDDED_MODE:
        logger.warning("single-machine mode: filesystem broker under var/, locks in the database")


@worker_process_shutdown.connect
@worker_shutdown.connect
def _flush_on_exit(**_kw: Any) -> None:
    runtime().stop()


@receiver(post_migrate)
def _ensure_schedules(sender: Any, **_kw: Any) -> None:
    if sender.name != "jobs":
        return
    from jobs.schedules import ensure_schedules

    ensure_schedules()

"""The beat scheduler: django-celery-beat's, plus a heartbeat row health checks can read."""

from __future__ import annotations

import time

from django.db import close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from jobs.models import Heartbeat

HEARTBEAT_EVERY = 5.0


class Scheduler(DatabaseScheduler):
    _last_beat = 0.0

    def tick(self, *args, **kwargs):
        self.heartbeat()
        return super().tick(*args, **kwargs)

    def heartbeat(self) -> None:
        if time.monotonic() - self._last_beat < HEARTBEAT_EVERY:
            return
        try:
            Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})
            self._last_beat = time.monotonic()
        except Exception:
            close_old_connections()

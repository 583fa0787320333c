"""Stager (Oban's Stager): scheduled, deferred, snoozed and retrying jobs whose time has come
become queued in one conditional UPDATE, then are published. A publish that fails leaves them
unpublished, so the reconciler's relay hands them over when the broker answers."""

from __future__ import annotations

from datetime import datetime

from jobs.broker import publish
from jobs.conf import conf
from jobs.runtime import Runtime
from jobs.table import clock, sweeps

BATCH = 500


def move_due(now: datetime | None = None) -> int:
    specs = sweeps.jobs_take_due(now or clock.db_now(), BATCH)
    return publish.jobs_publish(specs) if specs else 0


def register(rt: Runtime) -> None:
    rt.every("stager", lambda: conf().mover_interval, move_due)

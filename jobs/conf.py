"""Every `JOBS_*` setting of the layer, typed, with its default, read in one place.

    from jobs.conf import conf
    conf().lease_ttl

The values are read from Django's settings once and kept (the hot path reads them per delivery);
`override_settings` and the `settings` fixture of pytest-django send `setting_changed`, which
drops the copy, so tests that change a setting see it at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True)
class JobsSettings:
    # Leases and rescue (Oban's Lifeline): a running job's lease is renewed every ttl/3; a job
    # whose lease lapsed `rescue_after` seconds ago is queued again, or failed when spent.
    lease_ttl: float = 30.0
    rescue_after: float = 60.0
    # The relay publishes a committed job no broker was given after `relay_after` seconds; a job
    # published longer than `republish_after` ago and never claimed is published again.
    relay_after: float = 10.0
    republish_after: float = 300.0
    # The background loops: the stager's fallback poll and the reconciler's period. The stager of
    # a worker node is also woken when that node snoozes, retries or frees a gate for a job due
    # sooner (table.transitions.stager_wake), so the poll only catches the rest (another process's).
    mover_interval: float = 0.1
    reconcile_every: float = 5.0
    # The publish breaker: open from a failed publish until a probe, every this many seconds,
    # sees the broker answer; the publish path's connect timeout (a local Redis answers in ~1 ms).
    broker_probe_every: float = 0.5
    publish_connect_timeout: float = 0.1
    max_retry_after: float = 6 * 3600.0
    max_snooze: float = 24 * 3600.0
    # A delivery whose fate the database cannot decide goes back to the broker after this delay.
    requeue_delay: float = 1.0
    history_flush_interval: float = 0.25
    history_max_buffer: int = 100_000
    # Coordination backend by dotted path ("" = Redis, or the database in single-machine mode).
    coordinator: str = ""
    key_prefix: str = "jobs"
    prune_after_days: int = 7
    prune_after_days_by_queue: dict[str, int] = field(default_factory=dict)
    prune_batch: int = 1000
    noop_keep_seconds: int = 3600
    lost_after: float = 600.0
    queue_sync_every: float = 5.0
    run_at_beat_start: tuple[str, ...] = ()
    poll_tasks: tuple[str, ...] = ()  # besides the tasks declared @job(poll=True)


@functools.cache
def conf() -> JobsSettings:
    values: dict[str, Any] = {}
    for f in fields(JobsSettings):
        name = f"JOBS_{f.name.upper()}"
        if hasattr(settings, name):
            value = getattr(settings, name)
            values[f.name] = tuple(value) if f.name in ("run_at_beat_start", "poll_tasks") else value
    return JobsSettings(**values)


def _changed(setting: str = "", **_kw: Any) -> None:
    if setting.startswith("JOBS_") or setting in ("CELERY_BROKER_URL", "EMBEDDED_MODE"):
        conf.cache_clear()


setting_changed.connect(_changed, dispatch_uid="jobs.conf.changed")

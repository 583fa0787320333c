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
    # The publish path's read/write timeout: a broker that accepts connections and never answers
    # (hung, half-open path) costs one request this long before the breaker opens (Redis's own
    # 5 s otherwise). Per socket call, not per pipeline: a healthy Redis answers in ~1 ms.
    publish_socket_timeout: float = 0.25
    max_retry_after: float = 6 * 3600.0
    max_snooze: float = 24 * 3600.0
    # A solo worker sends a job's claim as its message arrives and reads it once kombu has
    # recorded the message as unacked (core/early.py): one wait for both round trips where that
    # record is in Redis (broker_unacked). Off unless asked for (docs/PERFORMANCE.md).
    early_claim: bool = False
    # A solo worker node keeps the layer's unacked messages in its memory only, not also in
    # kombu's unacked hash in Redis (two round trips per job): a message lost with its worker is
    # found by the job table (rescue, reconciler). True: kombu's Redis record on every node.
    broker_unacked: bool = False
    # A delivery whose fate the database cannot decide goes back to the broker after this delay.
    requeue_delay: float = 1.0
    # Cancelling a running job: its lease ends at once (a body that checks it stops there); the
    # process still running it after this many seconds is terminated.
    cancel_grace: float = 10.0
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
    # Deployment-wide names the layer shares with the project (read without the JOBS_ prefix, see
    # SHARED), each with a default so a project that installs the `jobs` wheel needs none of them.
    embedded_mode: bool = False  # EMBEDDED_MODE: filesystem broker, locks in the database
    redis_url: str = ""  # REDIS_URL: the coordination store; "" = the broker's URL when it is Redis
    health_token: str = ""  # HEALTH_TOKEN: bearer token for /healthz/ready and /metrics
    health_ping_timeout: float = 1.0  # HEALTH_PING_TIMEOUT
    health_beat_max_age: float = 120.0  # HEALTH_BEAT_MAX_AGE
    health_cache_seconds: float = 5.0  # HEALTH_CACHE_SECONDS


SHARED = frozenset(
    {
        "embedded_mode",
        "redis_url",
        "health_token",
        "health_ping_timeout",
        "health_beat_max_age",
        "health_cache_seconds",
    }
)


def setting_name(field_name: str) -> str:
    return field_name.upper() if field_name in SHARED else f"JOBS_{field_name.upper()}"


@functools.cache
def conf() -> JobsSettings:
    values: dict[str, Any] = {}
    for f in fields(JobsSettings):
        name = setting_name(f.name)
        if hasattr(settings, name):
            value = getattr(settings, name)
            values[f.name] = tuple(value) if f.name in ("run_at_beat_start", "poll_tasks") else value
    if not values.get("redis_url"):
        broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
        values["redis_url"] = broker if broker.startswith(("redis://", "rediss://", "unix://")) else ""
    return JobsSettings(**values)


def _changed(setting: str = "", **_kw: Any) -> None:
    if setting.startswith("JOBS_") or setting == "CELERY_BROKER_URL" or setting.lower() in SHARED:
        conf.cache_clear()


setting_changed.connect(_changed, dispatch_uid="jobs.conf.changed")

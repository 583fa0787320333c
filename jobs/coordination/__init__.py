"""The gates' backends: single-flight leases, queue concurrency slots, rate reservations.

One protocol (`base.Coordinator`), three backends: Redis (the cluster), the database (the
single-machine mode on SQLite) and memory (one process: tests, `jobs.testing`). The backend is a
dotted path, like Django's CACHES: `JOBS_COORDINATOR = "jobs.coordination.memory.MemoryCoordinator"`
(the short names "redis", "database" and "memory" work too; empty: Redis, or the database in the
single-machine mode).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.db import InterfaceError, OperationalError
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerOperationalError

from jobs.conf import conf
from jobs.coordination.base import Coordinator, key, rate_margin

__all__ = ["TRANSIENT_ERRORS", "Coordinator", "coordinator", "key", "rate_margin", "use_coordinator"]
# What "the infrastructure is away for a moment" looks like to a job: the database, the broker,
# the coordinator. A job retries these with backoff (`@job(retry_on=TRANSIENT_ERRORS)`).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)
SHORT = {
    "redis": "jobs.coordination.redis.RedisCoordinator",
    "database": "jobs.coordination.database.DatabaseCoordinator",
    "memory": "jobs.coordination.memory.MemoryCoordinator",
}
_override: Coordinator | None = None


def coordinator() -> Coordinator:
    """The coordinator of this process (jobs.testing may put an in-memory one in its place)."""
    return _override if _override is not None else _configured(conf().coordinator)


@contextmanager
def use_coordinator(coord: Coordinator) -> Iterator[None]:
    global _override
    before, _override = _override, coord
    try:
        yield
    finally:
        _override = before


@functools.cache
def _configured(path: str) -> Coordinator:
    path = SHORT.get(path, path) or SHORT["database" if conf().embedded_mode else "redis"]
    cls = import_string(path)
    return cls(conf().redis_url) if path == SHORT["redis"] else cls()

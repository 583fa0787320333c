"""Cluster-wide coordination: uniqueness, claims, leases, rate slots and the scheduled set.

Two backends share one interface: Redis (the cluster) and the database (single-machine mode).
Every operation is one atomic step on the backend, so any number of processes on any number of
machines agree without talking to each other.
"""

from __future__ import annotations

import functools
from typing import Protocol

from django.conf import settings

CLAIM_OK, CLAIM_DONE, CLAIM_RUNNING, CLAIM_CANCELLED = "ok", "done", "running", "cancelled"
DONE_TTL = 24 * 3600
CANCEL_TTL = 7 * 24 * 3600


class Coordinator(Protocol):
    def unique_acquire(self, key: str, job_id: str, ttl: float) -> str | None:
        """Take `key` for `job_id`; None when taken, else the job id already holding it."""

    def unique_release(self, key: str, job_id: str) -> None: ...

    def claim(self, job_id: str, delivery: str, token: str, ttl: float) -> str:
        """Claim one delivery of a job: ok, done, running (elsewhere) or cancelled."""

    def claim_done(self, job_id: str, delivery: str) -> None: ...

    def claim_release(self, job_id: str, delivery: str, token: str) -> None: ...

    def cancel(self, job_id: str) -> None: ...

    def lease_acquire(self, key: str, token: str, ttl: float) -> bool: ...

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None: ...

    def lease_release(self, key: str, token: str) -> None: ...

    def rate_take(self, key: str, limit: int, period: float, member: str) -> float:
        """Take a start slot now: 0.0 when taken, else seconds until one may be free."""

    def schedule(self, job_id: str, delay: float, payload: dict) -> None: ...

    def pop_due(self, limit: int = 200) -> list[dict]: ...

    def scheduled_count(self) -> int: ...

    def is_scheduled(self, job_id: str) -> bool: ...

    def ping(self) -> None: ...


def key(*parts: str) -> str:
    return ":".join((settings.JOBS_KEY_PREFIX, *parts))


@functools.cache
def coordinator() -> Coordinator:
    if settings.EMBEDDED_MODE:
        from jobs.coord_db import DatabaseCoordinator

        return DatabaseCoordinator()
    from jobs.coord_redis import RedisCoordinator

    return RedisCoordinator(settings.REDIS_URL)

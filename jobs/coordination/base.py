"""Cluster-wide coordination: single-flight leases, queue concurrency slots, rate reservations.

Three backends share one interface: Redis (the cluster), the database (single-machine mode on
SQLite) and memory (one process: tests, `jobs.testing`; JOBS_COORDINATOR=memory). Each operation
is one atomic step on its backend. Nothing here is the truth about a job (that is the job table):
losing all of it costs at most a short burst over a limit.
"""

from __future__ import annotations

from typing import Protocol

from jobs.conf import conf


class Coordinator(Protocol):
    def lease_acquire(self, key: str, token: str, ttl: float) -> bool:
        """Take `key` for `token` (or keep it, if `token` holds it already)."""

    def lease_renew(self, keys: list[str], token: str, ttl: float) -> None: ...

    def lease_release(self, key: str, token: str) -> None: ...

    def slot_acquire(self, key: str, token: str, limit: int, ttl: float) -> bool:
        """One of `limit` slots of `key` for `token`, leased for `ttl` (renewed like a lease)."""

    def slot_release(self, key: str, token: str) -> None: ...

    def rate_reserve(self, key: str, limit: int, period: float, member: str) -> float:
        """Reserve `member`'s start: 0.0 to start now, else seconds until its reserved slot.

        Asking again for the same member returns the same slot, so a job deferred to its slot
        starts when it comes back: one deferral per job however long the backlog."""

    def epoch(self, now: float) -> float:
        """When this store's data began, on the database's clock (a Redis that came back empty
        has a new epoch): the first caller to find none stamps it with its `now`."""

    def ping(self) -> None: ...


def rate_margin(period: float) -> float:
    """How late a reserved start may be and still count (see the reservation script)."""
    return min(0.25, period * 0.25)


def key(*parts: str) -> str:
    return ":".join((conf().key_prefix, *parts))

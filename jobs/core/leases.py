"""What this process holds, renewed by its runtime thread: the job rows it runs (their lease in
the job table) and the gates' leases and slots in the coordinator.

Renewal is fenced: a job's lease is extended only where this execution's token still holds the
row, and a row that no longer answers to the token (rescued after a freeze, cancelled, pruned)
marks that execution's lease lost. The body sees it (`current_job().lease_lost`, and
`checkpoint()` raises) and the stale run records nothing when it ends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from jobs.conf import conf
from jobs.coordination import coordinator
from jobs.runtime import reset_after_fork, runtime
from jobs.table import clock, transitions


def execution_token() -> str:
    """The lease token of one execution: this process's, plus its own (threads run several)."""
    return f"{runtime().token}:{uuid.uuid4().hex[:12]}"


def lease_from_now() -> tuple[datetime, datetime]:
    """(now, when a lease taken now lapses), on the database's clock."""
    now = clock.db_now()
    return now, now + timedelta(seconds=conf().lease_ttl)


class Holder(Protocol):
    job_id: str
    token: str
    lease_lost: bool


class Holdings:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: dict[str, tuple[float, str]] = {}
        self.jobs: dict[str, Holder] = {}
        self.suspended = 0  # jobs.testing.drain(): rows in the test's transaction, unseen by this thread

    # -- gates' leases ---------------------------------------------------------------------------
    def hold(self, key: str, ttl: float, token: str) -> None:
        with self._lock:
            self.keys[key] = (ttl, token)
        _ensure_step()

    def unhold(self, key: str) -> None:
        with self._lock:
            self.keys.pop(key, None)

    # -- job rows --------------------------------------------------------------------------------
    def hold_job(self, holder: Holder) -> None:
        with self._lock:
            self.jobs[holder.token] = holder
        _ensure_step()

    def unhold_job(self, holder: Holder) -> None:
        with self._lock:
            self.jobs.pop(holder.token, None)

    def busy(self) -> bool:
        return bool(self.keys or self.jobs) and not self.suspended

    def renew(self) -> None:
        """Extend every lease this process holds; mark the job runs whose row is gone from them."""
        with self._lock:
            groups: dict[tuple[float, str], list[str]] = {}
            for key, (ttl, token) in self.keys.items():
                groups.setdefault((ttl, token), []).append(key)
            jobs = list(self.jobs.values())
        errors: list[Exception] = []
        if jobs:
            until = lease_from_now()[1]
            try:
                kept = transitions.leases_renew([(h.job_id, h.token) for h in jobs], until)
                for h in jobs:
                    if h.token not in kept:
                        h.lease_lost = True
            except Exception as exc:  # the database is away: the lease may lapse, rescue decides
                errors.append(exc)
        for (ttl, token), keys in groups.items():
            try:
                coordinator().lease_renew(keys, token, ttl)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


_holdings = Holdings()


def holdings() -> Holdings:
    return _holdings


def _ensure_step() -> None:
    rt = runtime()
    if not rt.has("renew"):
        rt.every("renew", lambda: conf().lease_ttl / 3, _holdings.renew, when=_holdings.busy)


def _after_fork() -> None:
    global _holdings
    _holdings = Holdings()


reset_after_fork(_after_fork)


@contextmanager
def renewal_suspended() -> Iterator[None]:
    """No lease renewal from the runtime thread meanwhile: `jobs.testing.drain()` runs jobs in the
    test's own transaction, whose rows another connection cannot see (it would call them lost)."""
    _holdings.suspended += 1
    try:
        yield
    finally:
        _holdings.suspended -= 1

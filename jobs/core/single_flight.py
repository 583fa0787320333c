"""`single_flight(name)`: one holder at a time across the cluster, for code outside a job body
(a management command that must not overlap the workers' runs of the same job)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from jobs.conf import conf
from jobs.coordination import coordinator, key
from jobs.core.context import Snooze, current_job
from jobs.core.leases import holdings
from jobs.runtime import runtime


class SingleFlightBusy(Exception):
    """Someone else held the lease for longer than the caller was willing to wait."""


@contextmanager
def single_flight(name: str, *, wait: float = 60.0) -> Iterator[None]:
    """Hold the single-flight lease `name` (a job task's name shares its workers' lease) for
    the block, renewed while it runs. Outside a job it waits up to `wait` seconds for it, then
    SingleFlightBusy; inside a job body a busy lease is a Snooze (the one way to wait)."""
    lease, rt, ttl = key("single", name), runtime(), float(conf().lease_ttl)
    token = f"{rt.token}:{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + wait
    while not coordinator().lease_acquire(lease, token, ttl):
        if current_job() is not None:  # inside a job: come back later, never sleep in a worker slot
            raise Snooze(1.0, reason=f"single flight {name} busy")
        if time.monotonic() > deadline:
            raise SingleFlightBusy(f"{name} stayed busy for more than {wait:g}s")
        time.sleep(0.2)
    holdings().hold(lease, ttl, token)
    try:
        yield
    finally:
        holdings().unhold(lease)
        coordinator().lease_release(lease, token)

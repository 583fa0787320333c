"""The gates a delivery passes between its claim and its body, cluster-wide: a paused queue, the
queue's global limit, the single-flight lease, the rate slot.

A job that may not start yet is deferred: its row goes back to `scheduled` (not an attempt) and
the message is acked, so it waits in the database, not in a worker's memory. It waits politely:
- paused queue (read in the claim): until the queue's controls are read again;
- limit / single flight: parked with the gate's key; the holder wakes the oldest waiter when it
  releases (`gate_wake`), and a fallback due time covers a holder that died — about one deferral
  per job, where a busy wait cost dozens a second;
- rate limit: a reserved start per job (one deferral per job however long the backlog).
The queue limit is read from `QueueControl` and cached a few seconds; the pause is read in the claim.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from jobs.conf import conf
from jobs.coordination import coordinator, key
from jobs.core.leases import holdings
from jobs.core.options import rate_for
from jobs.models import QueueControl
from jobs.table import sweeps

CACHE_SECONDS = 3.0
_cache: tuple[float, dict[str, QueueControl]] = (0.0, {})


def _controls() -> dict[str, QueueControl]:
    global _cache
    at, controls = _cache
    if time.monotonic() - at > CACHE_SECONDS:
        try:
            controls = {c.queue: c for c in QueueControl.objects.all()}
        except Exception:  # the database blips: keep the last known controls
            return controls
        _cache = (time.monotonic(), controls)
    return controls


def queue_limit(queue: str) -> int | None:
    """The cluster-wide number of this queue's jobs that may run at once (None: no limit)."""
    control = _controls().get(queue)
    return control.global_limit if control and control.global_limit else None


@dataclass(frozen=True)
class Wait:
    """A gate's answer: not yet, for `delay` seconds (or until woken, when `waiting_for` is set)."""

    delay: float
    reason: str
    waiting_for: str | None = None


def gates_pass(
    task: Any, queue: str, job_id: str, token: str, args: tuple, kwargs: dict, *, paused: bool = False
) -> Wait | None:
    """Take every gate for this delivery, or say how long to wait. Keys taken are held (renewed)
    until `gates_release`. Raises what the coordinator raises (the caller decides the outcome)."""
    if paused:  # read in the claim itself (table/transitions.py), never from a stale cache
        return Wait(conf().queue_sync_every, "queue paused")
    coord, ttl = coordinator(), conf().lease_ttl
    park = max(ttl * 2, 10.0)  # a parked job comes back by itself if its waker died
    limit = queue_limit(queue)
    if limit:
        slot = key("limit", queue)
        if not coord.slot_acquire(slot, token, limit, ttl):
            return Wait(park, "queue limit", slot)
        holdings().hold(slot, ttl, token)
    if task.job_options.single_flight:
        lease = key("single", task.name)
        if not coord.lease_acquire(lease, token, ttl):
            return Wait(park, "single flight", lease)
        holdings().hold(lease, ttl, token)
    rate = rate_for(task.job_options, task.name, args, kwargs)
    if rate:
        name, rl = rate
        wait = coord.rate_reserve(key("rate", name), rl.limit, rl.period, job_id)
        if wait > 0.005:
            return Wait(wait, "rate limit")
    return None


def gates_release(token: str, held: list[str]) -> list[str]:
    """Give back what this delivery took and wake one waiter per gate; returns the keys that
    could not be released (they lapse by themselves)."""
    failed = []
    coord = coordinator()
    for k in reversed(held):
        holdings().unhold(k)
        try:
            if k.startswith(key("limit", "")):
                coord.slot_release(k, token)
            else:
                coord.lease_release(k, token)
            sweeps.gate_wake(k)
        except Exception:
            failed.append(k)
    return failed


def held_keys(token: str) -> list[str]:
    return [k for k, (_ttl, t) in list(holdings().keys.items()) if t == token]

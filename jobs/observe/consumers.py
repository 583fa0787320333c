"""Which workers consume a queue, and with how many slots (Oban's `check_queue`).

Asked of the workers themselves with Celery's remote control: `inspect().active_queues()` (the
queues each worker consumes right now: a paused queue is cancelled there, so it is not listed)
and `inspect().stats()` (the pool's `max-concurrency`, i.e. its slots). Both are one broadcast
each, told how many replies to expect when the caller knows the workers, so a healthy cluster
answers in milliseconds instead of waiting out the timeout.

The seeds' per-queue concurrencies are the documented defaults (docs/OPERATIONS.md, section
"Which workers consume a queue"); the answer shows them beside the slots the workers really have.
"""

from __future__ import annotations

from typing import Any

from celery import current_app

from jobs.broker.queues import declared_queues
from jobs.models import QueueControl

# The seeds' concurrency per queue (Oban's `queues: [default: 10, events: 20, pii_detection: 5]`).
# Documented defaults, shown beside what the workers really run; other queues have none.
DOCUMENTED_CONCURRENCY: dict[str, int] = {"default": 10, "events": 20, "pii_detection": 5}


def _paused() -> set[str]:
    try:
        return set(QueueControl.objects.filter(paused=True).values_list("queue", flat=True))
    except Exception:  # the database is another check's business
        return set()


def queue_consumers(*, timeout: float = 1.0, workers: list[str] | None = None) -> dict[str, Any]:
    """{"queues": {queue: {"workers": [{"worker", "slots"}], "slots", "documented", "paused"}},
    "unconsumed": [declared, unpaused queues no worker consumes]}."""
    limit = len(workers) if workers else None
    inspect = current_app.control.inspect(timeout=timeout, destination=workers or None, limit=limit)
    active: dict[str, Any] = inspect.active_queues() or {}
    stats: dict[str, Any] = (inspect.stats() or {}) if active else {}
    paused = _paused()
    queues: dict[str, dict[str, Any]] = {
        name: {"workers": [], "slots": 0, "documented": DOCUMENTED_CONCURRENCY.get(name)}
        for name in declared_queues()
    }
    for worker, consumed in sorted(active.items()):
        pool = (stats.get(worker) or {}).get("pool") or {}
        slots = pool.get("max-concurrency")
        for queue in consumed or []:
            entry = queues.setdefault(
                queue["name"],
                {"workers": [], "slots": 0, "documented": DOCUMENTED_CONCURRENCY.get(queue["name"])},
            )
            entry["workers"].append({"worker": worker, "slots": slots})
            entry["slots"] += int(slots or 0)
    for name, entry in queues.items():
        entry["paused"] = name in paused
    unconsumed = [name for name in declared_queues() if not queues[name]["workers"] and name not in paused]
    return {"queues": queues, "unconsumed": unconsumed}


def check_queue(name: str, *, timeout: float = 1.0) -> dict[str, Any]:
    """One queue's answer: which workers consume it and how many jobs of it can run at once."""
    if name not in declared_queues():
        raise ValueError(f"unknown queue {name!r}; queues are {', '.join(declared_queues())}")
    entry = queue_consumers(timeout=timeout)["queues"][name]
    return {"queue": name, **entry}

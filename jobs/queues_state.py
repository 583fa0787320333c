"""What a worker needs to know about a queue's run-time controls, read from `QueueControl`
(edited from the dashboard) and cached for a few seconds per process."""

from __future__ import annotations

import time

from jobs.models import QueueControl

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


def queue_paused(queue: str) -> bool:
    control = _controls().get(queue)
    return bool(control and control.paused)


def forget() -> None:
    """Read the controls again on next use (after an operator changed one)."""
    global _cache
    _cache = (0.0, {})

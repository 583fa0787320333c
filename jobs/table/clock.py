"""One clock for every time that is compared across machines: the database's.

`published_at`, a lease's expiry and the broker's epoch are written by one process and compared
by another, maybe on another machine whose clock runs ahead. Each process learns how far its own
clock is from the database's (`SELECT now()`, halved round trip) and stamps those times with
`db_now()`: the local clock plus that offset. It costs nothing per job; the offset is refreshed
by the runtime thread (a clock that is stepped is followed within `REFRESH` seconds).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

REFRESH = 30.0
_offset = 0.0
_learned_at = -1e9


def offset_learn() -> float:
    """Measure the database clock against ours (PostgreSQL; SQLite is this machine's clock)."""
    global _offset, _learned_at
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            before = time.time()
            cur.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
            db = float(cur.fetchone()[0])
            after = time.time()
        _offset = db - (before + after) / 2
    _learned_at = time.monotonic()
    return _offset


def db_now() -> datetime:
    """Now, on the database's clock (learned once, then refreshed by the runtime thread)."""
    if time.monotonic() - _learned_at > REFRESH * 4:  # never learned (a web process), or stale
        try:
            offset_learn()
        except Exception:  # the database is away: our own clock until it answers
            pass
    return timezone.now() + timedelta(seconds=_offset)

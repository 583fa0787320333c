"""Write-behind for the job table's hot-path writes: successes (with their attempt rows) and
publish marks.

A job's claim, deferral, retry and snooze are written at once (they decide what runs next);
what only records an outcome is buffered here and flushed by the runtime thread, each kind as
one statement for the whole batch (table/behind.py). The writer never hurts a job: `record()`
never raises, the buffer is bounded (the oldest entries are dropped and counted, never an
exception), and an entry the database rejects is retried alone once and then dropped with a
counted log line — never retried forever, never blocking the entries behind it. With
JOBS_HISTORY_FLUSH_INTERVAL=0 every entry is written at once (tests, management commands).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, transaction

from jobs.conf import conf
from jobs.table import behind, transitions

logger = logging.getLogger("jobs.table.history")
FINISH = "finish"  # a success: table.behind.finish_params rows
PUBLISHED = "published"  # a publish: (when, [job ids]), one entry per batch the broker took

_buffer: deque[tuple[str, Any]] = deque()
# Who flushes: set by the process's runtime wiring (jobs.apps), called when the buffer fills
# from empty. This module starts no thread of its own.
_waker: Callable[[], object] | None = None
_flush_lock = threading.Lock()
stats = {"written": 0, "dropped_rejected": 0, "dropped_overflow": 0}


def record(kind: str, params: Any) -> None:
    """Buffer one write: FINISH with finish_params, or PUBLISHED with (when, [job ids])."""
    try:
        if len(_buffer) >= conf().history_max_buffer:
            _buffer.popleft()
            stats["dropped_overflow"] += 1
        _buffer.append((kind, params))
        if conf().history_flush_interval <= 0:
            flush()
        elif len(_buffer) == 1 and _waker is not None:
            _waker()
    except Exception:  # the writer must never fail the job or the enqueue that called it
        logger.exception("job history: could not buffer a write")


def pending_events() -> int:
    return len(_buffer)


def flush() -> int:
    """Write everything buffered; returns how many entries were written."""
    with _flush_lock:
        items = []
        while _buffer:
            items.append(_buffer.popleft())
        if not items:
            return 0
        groups: dict[str, list[Any]] = {}
        for kind, params in items:
            groups.setdefault(kind, []).append(params)
        written = 0
        try:
            with transaction.atomic():  # readers see a job's finish and its attempt row together
                transitions.relaxed_commit()
                for kind, batch in groups.items():
                    written += _write(kind, batch)
        except Exception as exc:  # the database itself is unreachable: keep them for the next flush
            close_old_connections()
            _buffer.extendleft(reversed(items))
            while len(_buffer) > conf().history_max_buffer:
                _buffer.popleft()
                stats["dropped_overflow"] += 1
            logger.warning("job history: flush failed, kept", extra={"fields": {"error": type(exc).__name__}})
            return 0
        stats["written"] += written
        return written


def _write(kind: str, batch: list[Any]) -> int:
    try:
        with transaction.atomic():
            _apply(kind, batch)
        return len(batch)
    except (OperationalError, InterfaceError):
        raise  # the database is away, not this row: the whole flush is kept for the next one
    except Exception as exc:
        if len(batch) == 1:
            stats["dropped_rejected"] += 1
            logger.warning(
                "job history: write dropped",
                extra={"fields": {"kind": kind, "error": type(exc).__name__}},
            )
            return 0
    # One rejected row must not cost the others: write them one by one.
    return sum(_write(kind, [one]) for one in batch)


def _apply(kind: str, batch: list[Any]) -> None:
    if kind == FINISH:
        behind.jobs_finish(batch)
    elif kind == PUBLISHED:
        behind.jobs_mark_published(batch)
    else:
        raise ValueError(f"job history: unknown kind {kind!r}")


def set_waker(fn: Callable[[], object] | None) -> None:
    global _waker
    _waker = fn


def forget() -> None:
    """After a fork: the parent flushes its own entries."""
    _buffer.clear()

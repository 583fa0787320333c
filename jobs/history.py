"""Job history writes, batched off the hot path.

Enqueuers and workers append small events to an in-process buffer; the runtime thread flushes
them as one multi-row upsert. Each event carries `seq` and the row keeps the greatest: writes
from several processes may land in any order and the row still only moves forward. With
JOBS_HISTORY_FLUSH_INTERVAL=0 every event is written at once (tests, management commands).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from django.conf import settings
from django.db import connection

from jobs.models import Job, JobState

logger = logging.getLogger("jobs.history")

COLUMNS = [f.column for f in Job._meta.concrete_fields]
_FIELDS = {f.column: f for f in Job._meta.concrete_fields}
_REQUIRED = ("id", "task", "queue", "state", "attempt", "max_attempts", "deferrals", "seq")
CANCELLED_SEQ = 2**62

_buffer: deque[dict[str, Any]] = deque()
_flush_lock = threading.Lock()


PHASE = {
    JobState.QUEUED: 1,
    JobState.SCHEDULED: 1,
    JobState.STARTED: 2,
    JobState.RETRYING: 3,
    JobState.SUCCEEDED: 9,
    JobState.FAILED: 9,
    JobState.CANCELLED: 9,
}


def seq(attempt: int, deferrals: int, phase: int) -> int:
    """Order of an event: later attempts, then later deferrals, then the phase within one."""
    return attempt * 1_000_000 + deferrals * 10 + phase


def record_state(
    *,
    job_id: str,
    task: str,
    queue: str,
    state: str,
    attempt: int,
    max_attempts: int,
    deferrals: int,
    **fields: Any,
) -> None:
    """Buffer one state change of a job (the one way every writer describes an event)."""
    record(
        {
            "id": job_id,
            "task": task,
            "queue": queue,
            "state": state,
            "attempt": attempt,
            "max_attempts": max_attempts,
            "deferrals": deferrals,
            "seq": seq(attempt, deferrals, PHASE[state]),
            **fields,
        }
    )


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The rule the SQL applies: the higher seq wins each column it knows; the other fills gaps."""
    hi, lo = (new, old) if new["seq"] >= old["seq"] else (old, new)
    out = dict(lo)
    out.update({k: v for k, v in hi.items() if v is not None})
    return out


BACKPRESSURE = 50_000


def record(event: dict[str, Any]) -> None:
    """Buffer one event; the runtime thread writes it within the flush interval."""
    _buffer.append(event)
    if settings.JOBS_HISTORY_FLUSH_INTERVAL <= 0 or len(_buffer) >= BACKPRESSURE:
        flush()  # tests and one-shot commands write at once; a stalled DB slows enqueuers
    elif len(_buffer) == 1:
        from jobs.runtime import runtime

        runtime().ensure_started()


def pending_events() -> int:
    return len(_buffer)


def flush() -> int:
    """Write every buffered event; returns how many rows were written."""
    with _flush_lock:
        rows: dict[str, dict[str, Any]] = {}
        while _buffer:
            ev = _buffer.popleft()
            rows[ev["id"]] = merge(rows[ev["id"]], ev) if ev["id"] in rows else ev
        if not rows:
            return 0
        batch = list(rows.values())
        size = settings.JOBS_HISTORY_BATCH
        try:
            for i in range(0, len(batch), size):
                _upsert(batch[i : i + size])
        except Exception:
            # Keep the events for the next flush rather than lose history on a DB blip.
            _buffer.extendleft(reversed(batch))
            logger.exception("job history flush failed; %d events kept for retry", len(batch))
            raise
        return len(batch)


def _upsert(rows: list[dict[str, Any]]) -> None:
    table = connection.ops.quote_name(Job._meta.db_table)
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in COLUMNS)
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    sets = ", ".join(
        f"{q(c)} = CASE WHEN excluded.seq >= {table}.seq "
        f"THEN COALESCE(excluded.{q(c)}, {table}.{q(c)}) "
        f"ELSE COALESCE({table}.{q(c)}, excluded.{q(c)}) END"
        for c in COLUMNS
        if c != "id"
    )
    sql = (
        f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT (id) DO UPDATE SET {sets}"
    )
    params: list[Any] = []
    for row in rows:
        for c in COLUMNS:
            value = row.get(c)
            if value is None and c in _REQUIRED:
                value = _FIELDS[c].get_default()
            # None must stay SQL NULL (a JSONField would write JSON null) so COALESCE keeps
            # what another event already wrote.
            params.append(
                None if value is None else _FIELDS[c].get_db_prep_value(value, connection, prepared=False)
            )
    with connection.cursor() as cur:
        cur.execute(sql, params)

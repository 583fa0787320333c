"""The job table's plumbing: SQL helpers, value conversion, inserting new rows, uniqueness.

Every statement is plain SQL on Django's connection, so it runs on PostgreSQL and SQLite alike
(both have UPDATE … RETURNING); the statements that move a job between states are in
table/transitions.py, the sweeps in table/sweeps.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState

TABLE = Job._meta.db_table
ATTEMPT_TABLE = JobAttempt._meta.db_table
_F = {f.attname: f for f in Job._meta.concrete_fields}
# What a publisher needs to put a stored job on its queue again.
SPEC = "id, task, queue, priority, args, kwargs, attempt, deferrals"


def db_id(job_id: Any) -> Any:
    return _F["id"].get_db_prep_value(job_id, connection)


def db_time(value: datetime | None) -> Any:
    return _F["enqueued_at"].get_db_prep_value(value, connection)


def db_value(name: str, value: Any) -> Any:
    return None if value is None else _F[name].get_db_prep_value(value, connection, prepared=False)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def to_specs(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    keys = [k.strip() for k in SPEC.split(",")]
    out = []
    for row in rows:
        spec = dict(zip(keys, row, strict=True))
        spec["id"] = str(_F["id"].to_python(spec["id"]))
        spec["args"], spec["kwargs"] = _json(spec["args"]) or [], _json(spec["kwargs"]) or {}
        out.append(spec)
    return out


def run_sql(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def executemany(sql: str, params: list[list[Any]]) -> None:
    with connection.cursor() as cur:
        cur.executemany(sql, params)


def pick_sql(where: str, order: str) -> str:
    """A subquery choosing up to %s rows; PostgreSQL skips rows another sweeper has locked."""
    skip = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return f"SELECT id FROM {TABLE} WHERE {where} ORDER BY {order} LIMIT %s{skip}"


# -- enqueue --------------------------------------------------------------------------------
COLUMNS = (
    "id",
    "task",
    "queue",
    "state",
    "attempt",
    "max_attempts",
    "priority",
    "args",
    "kwargs",
    "secret_payload",
    "unique_key",
    "enqueued_at",
    "scheduled_at",
    "deferrals",
    "retry_of",
    "display_name",
)


def jobs_insert(rows: Sequence[dict[str, Any]], batch: int = 500) -> None:
    """Write new job rows (the caller's transaction decides when they count): PostgreSQL's COPY
    for a bulk enqueue, one multi-row INSERT per `batch` rows otherwise."""
    if connection.vendor == "postgresql" and len(rows) >= 50:
        return _copy(rows)
    cols = ", ".join(COLUMNS)
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        params: list[Any] = []
        for row in chunk:
            params.extend(
                db_value(c, row.get(c, 0 if c in ("attempt", "deferrals") else None)) for c in COLUMNS
            )
        run_sql(f"INSERT INTO {TABLE} ({cols}) VALUES {', '.join([one] * len(chunk))}", params)


def _copy(rows: Sequence[dict[str, Any]]) -> None:
    json_cols = {"args", "kwargs"}
    with (
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row.get(c))
                    if c in json_cols
                    else row.get(c, 0 if c in ("attempt", "deferrals") else None)
                    for c in COLUMNS
                ]
            )


# -- uniqueness ------------------------------------------------------------------------------
def unique_holder(unique_key: str, since: datetime, until_done: bool) -> tuple[str, str] | None:
    """The job already holding `unique_key` in its window: (id, state), or None."""
    states = [s.value for s in FINISHED_STATES] if until_done else [JobState.CANCELLED.value]
    marks = ", ".join(["%s"] * len(states))
    rows = run_sql(
        f"SELECT id, state FROM {TABLE} WHERE unique_key = %s AND enqueued_at >= %s "
        f"AND state NOT IN ({marks}) ORDER BY enqueued_at LIMIT 1",
        [unique_key, db_time(since), *states],
    )
    return (str(_F["id"].to_python(rows[0][0])), rows[0][1]) if rows else None


def unique_lock(unique_key: str) -> None:
    """PostgreSQL: serialise enqueuers of one unique key until their transaction ends."""
    if connection.vendor == "postgresql":
        run_sql("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [unique_key])

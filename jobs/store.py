"""Every write to the job table that moves a job between states, each one conditional SQL.

Conditions carry the rules: only a queued job (or a started one whose lease lapsed) can be
claimed; only the holder of the lease can finish it; only a waiting job can be deferred or moved.
So several processes on several machines may race on a row and exactly one move happens, with
no lock held across a broker call. Works on PostgreSQL and SQLite (both have UPDATE … RETURNING).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from jobs.models import Job, JobState

TABLE = Job._meta.db_table
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


# -- execution ------------------------------------------------------------------------------
def relaxed_commit() -> None:
    """PostgreSQL: this transaction's commit need not wait for the disk (synchronous_commit off).

    Only for the layer's own bookkeeping (claims, write-behind): a PostgreSQL crash may forget
    the last fraction of a second of them, and the job then runs once more — at least once, as
    after any crash. Enqueues and the apps' own writes stay durable."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        run_sql("SET LOCAL synchronous_commit TO OFF", [])


def job_claim(job_id: str, *, token: str, worker: str, now: datetime, lease_until: datetime) -> tuple | None:
    """Start a delivery: (attempt, max_attempts, deferrals, secret_payload), or None when the job
    is not runnable (finished, cancelled, waiting for its time, or running under a live lease).

    On PostgreSQL outside a transaction this is one round trip: the claim and a `SET LOCAL
    synchronous_commit TO OFF` in one implicit transaction (see relaxed_commit)."""
    params = [
        JobState.STARTED,
        db_time(now),
        worker[:200],
        token,
        db_time(lease_until),
        db_time(now),
        db_id(job_id),
        JobState.QUEUED,
        JobState.STARTED,
        db_time(now),
    ]
    one_trip = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cur:
        cur.execute(("SET LOCAL synchronous_commit TO OFF; " if one_trip else "") + CLAIM_SQL, params)
        if one_trip:
            cur.nextset()
        rows = cur.fetchall()
    return rows[0] if rows else None


CLAIM_SQL = (
    f"UPDATE {TABLE} SET state = %s, attempt = attempt + 1, started_at = %s, worker = %s, "
    f"lease_token = %s, lease_expires_at = %s, published_at = COALESCE(published_at, %s) "
    f"WHERE id = %s AND (state = %s OR (state = %s AND lease_expires_at < %s)) "
    f"RETURNING attempt, max_attempts, deferrals, secret_payload"
)


def job_state(job_id: str) -> str | None:
    rows = run_sql(f"SELECT state FROM {TABLE} WHERE id = %s", [db_id(job_id)])
    return rows[0][0] if rows else None


def job_transition(job_id: str, token: str, state: str, **values: Any) -> bool:
    """Move a started job on, only while `token` holds its lease (a stale run changes nothing).

    `uncount=True` gives the attempt back (a snooze is not an attempt)."""
    sets = ["state = %s", "lease_token = NULL", "lease_expires_at = NULL"]
    params: list[Any] = [state]
    if values.pop("uncount", False):
        sets.append("attempt = attempt - 1")
        sets.append("deferrals = deferrals + 1")
    if state in (JobState.SCHEDULED, JobState.RETRYING):
        sets.append("published_at = NULL")
    for name, value in values.items():
        sets.append(f"{name} = %s")
        params.append(db_value(name, value))
    rows = run_sql(
        f"UPDATE {TABLE} SET {', '.join(sets)} WHERE id = %s AND lease_token = %s RETURNING id",
        [*params, db_id(job_id), token],
    )
    return bool(rows)


FINISH_SQL = (
    f"UPDATE {TABLE} SET state = %s, finished_at = %s, result = %s, last_error = COALESCE(%s, last_error), "
    f"lease_token = NULL, lease_expires_at = NULL WHERE id = %s AND lease_token = %s"
)


def finish_params(job_id: str, token: str, state: str, now: datetime, result: Any, error: str | None) -> list:
    return [state, db_time(now), db_value("result", result), error, db_id(job_id), token]


RENEW_SQL = f"UPDATE {TABLE} SET lease_expires_at = %s WHERE id = %s AND lease_token = %s"
PUBLISHED_SQL = f"UPDATE {TABLE} SET published_at = %s WHERE id = %s AND published_at IS NULL"


def executemany(sql: str, params: list[list[Any]]) -> None:
    with connection.cursor() as cur:
        cur.executemany(sql, params)


def unique_holder(unique_key: str, since: datetime, until_done: bool) -> tuple[str, str] | None:
    """The job already holding `unique_key` in its window: (id, state), or None."""
    from jobs.models import FINISHED_STATES

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

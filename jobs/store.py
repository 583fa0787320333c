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


def _specs(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    keys = [k.strip() for k in SPEC.split(",")]
    out = []
    for row in rows:
        spec = dict(zip(keys, row, strict=True))
        spec["id"] = str(_F["id"].to_python(spec["id"]))
        spec["args"], spec["kwargs"] = _json(spec["args"]) or [], _json(spec["kwargs"]) or {}
        out.append(spec)
    return out


def _run(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def _pick(where: str, order: str) -> str:
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
        _run(f"INSERT INTO {TABLE} ({cols}) VALUES {', '.join([one] * len(chunk))}", params)


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
def job_claim(job_id: str, *, token: str, worker: str, now: datetime, lease_until: datetime) -> tuple | None:
    """Start a delivery: (attempt, max_attempts, deferrals, secret_payload), or None when the job
    is not runnable (finished, cancelled, waiting for its time, or running under a live lease)."""
    rows = _run(
        f"UPDATE {TABLE} SET state = %s, attempt = attempt + 1, started_at = %s, worker = %s, "
        f"lease_token = %s, lease_expires_at = %s, published_at = COALESCE(published_at, %s) "
        f"WHERE id = %s AND (state = %s OR (state = %s AND lease_expires_at < %s)) "
        f"RETURNING attempt, max_attempts, deferrals, secret_payload",
        [
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
        ],
    )
    return rows[0] if rows else None


def job_state(job_id: str) -> str | None:
    rows = _run(f"SELECT state FROM {TABLE} WHERE id = %s", [db_id(job_id)])
    return rows[0][0] if rows else None


def job_defer(job_id: str, *, due: datetime) -> bool:
    """A queued job waits for its time (rate slot, single-flight turn): not an attempt."""
    rows = _run(
        f"UPDATE {TABLE} SET state = %s, scheduled_at = %s, deferrals = deferrals + 1, published_at = NULL "
        f"WHERE id = %s AND state = %s RETURNING deferrals",
        [JobState.SCHEDULED, db_time(due), db_id(job_id), JobState.QUEUED],
    )
    return bool(rows)


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
    rows = _run(
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


# -- sweeps (the mover, the relay, the reconciler, rescue) ----------------------------------------
def jobs_take_due(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Scheduled and retrying jobs whose time has come become queued (unpublished) at once."""
    waiting = (JobState.SCHEDULED, JobState.RETRYING)
    pick = _pick("state IN (%s, %s) AND scheduled_at <= %s", "scheduled_at")
    rows = _run(
        f"UPDATE {TABLE} SET state = %s, published_at = NULL WHERE id IN ({pick}) AND state IN (%s, %s) "
        f"RETURNING {SPEC}",
        [JobState.QUEUED, *waiting, db_time(now), limit, *waiting],
    )
    return _specs(rows)


def jobs_take_unpublished(now: datetime, older_than: datetime, limit: int) -> list[dict[str, Any]]:
    """Queued jobs no broker has been given (died after commit, broker down at enqueue)."""
    pick = _pick(
        "state = %s AND published_at IS NULL AND COALESCE(scheduled_at, enqueued_at) < %s", "enqueued_at"
    )
    rows = _run(
        f"UPDATE {TABLE} SET published_at = %s WHERE id IN ({pick}) AND published_at IS NULL "
        f"RETURNING {SPEC}",
        [db_time(now), JobState.QUEUED, db_time(older_than), limit],
    )
    return _specs(rows)


def jobs_take_published_before(
    now: datetime, before: datetime, limit: int, queue: str | None = None
) -> list[dict[str, Any]]:
    """Queued jobs handed to a broker before `before` (which has since forgotten them)."""
    where, params = "state = %s AND published_at < %s", [JobState.QUEUED, db_time(before)]
    if queue is not None:
        where, params = where + " AND queue = %s", [*params, queue]
    pick = _pick(where, "published_at")
    rows = _run(
        f"UPDATE {TABLE} SET published_at = %s WHERE id IN ({pick}) AND state = %s RETURNING {SPEC}",
        [db_time(now), *params, limit, JobState.QUEUED],
    )
    return _specs(rows)


def jobs_take_lapsed(now: datetime, lapsed_before: datetime, limit: int) -> list[dict[str, Any]]:
    """Started jobs whose lease lapsed before `lapsed_before` (their process is gone) are queued
    again, marked published by the caller's publish to come; each spec also names the worker."""
    pick = _pick("state = %s AND lease_expires_at < %s", "lease_expires_at")
    rows = _run(
        f"UPDATE {TABLE} SET state = %s, published_at = %s, scheduled_at = %s, lease_token = NULL, "
        f"lease_expires_at = NULL WHERE id IN ({pick}) AND state = %s AND lease_expires_at < %s "
        f"RETURNING {SPEC}, worker",
        [
            JobState.QUEUED,
            db_time(now),
            db_time(now),
            JobState.STARTED,
            db_time(lapsed_before),
            limit,
            JobState.STARTED,
            db_time(lapsed_before),
        ],
    )
    specs = _specs([r[:-1] for r in rows])
    for spec, row in zip(specs, rows, strict=True):
        spec["worker"] = row[-1] or ""
    return specs


def queued_published_queues(before: datetime) -> list[str]:
    rows = _run(
        f"SELECT DISTINCT queue FROM {TABLE} WHERE state = %s AND published_at < %s",
        [JobState.QUEUED, db_time(before)],
    )
    return [r[0] for r in rows]


def jobs_unpublish(ids: list[str]) -> None:
    """The broker did not take these after all: the relay tries again."""
    if ids:
        executemany(
            f"UPDATE {TABLE} SET published_at = NULL WHERE id = %s AND state = %s",
            [[db_id(i), JobState.QUEUED] for i in ids],
        )


def unique_holder(unique_key: str, since: datetime, until_done: bool) -> tuple[str, str] | None:
    """The job already holding `unique_key` in its window: (id, state), or None."""
    from jobs.models import FINISHED_STATES

    states = [s.value for s in FINISHED_STATES] if until_done else [JobState.CANCELLED.value]
    marks = ", ".join(["%s"] * len(states))
    rows = _run(
        f"SELECT id, state FROM {TABLE} WHERE unique_key = %s AND enqueued_at >= %s "
        f"AND state NOT IN ({marks}) ORDER BY enqueued_at LIMIT 1",
        [unique_key, db_time(since), *states],
    )
    return (str(_F["id"].to_python(rows[0][0])), rows[0][1]) if rows else None


def unique_lock(unique_key: str) -> None:
    """PostgreSQL: serialise enqueuers of one unique key until their transaction ends."""
    if connection.vendor == "postgresql":
        _run("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [unique_key])


def jobs_take_waiting(ids: list[str], now: datetime) -> list[dict[str, Any]]:
    """The operator's "re-enqueue": these waiting jobs are queued now (due or not), to be published."""
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    waiting = (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING)
    rows = _run(
        f"UPDATE {TABLE} SET state = %s, published_at = %s, scheduled_at = %s "
        f"WHERE id IN ({marks}) AND state IN (%s, %s, %s) RETURNING {SPEC}",
        [JobState.QUEUED, db_time(now), db_time(now), *[db_id(i) for i in ids], *waiting],
    )
    return _specs(rows)

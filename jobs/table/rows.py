"""The job table's plumbing: SQL helpers, value conversion, inserting new rows, uniqueness.

Every statement is plain SQL on Django's connection, so it runs on PostgreSQL and SQLite alike
(both have UPDATE … RETURNING); the statements that move a job between states are in
table/transitions.py, the sweeps in table/sweeps.py.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections

from jobs.models import FINISHED_STATES, Job, JobAttempt, JobState
from jobs.table import bulk, hot

TABLE = Job._meta.db_table
ATTEMPT_TABLE = JobAttempt._meta.db_table
_F = {f.attname: f for f in Job._meta.concrete_fields}
# What a publisher needs to put a stored job on its queue again.
SPEC = "id, task, queue, priority, args, kwargs, attempt, deferrals"


@functools.cache
def postgres() -> bool:
    """The default database is PostgreSQL (its backend is fixed for the process's life)."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def db_id(job_id: Any) -> Any:
    if postgres():  # psycopg takes a UUID as it is (Django's field would only say so, ~5 µs later)
        return job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    return _F["id"].get_db_prep_value(job_id, connection)


_JSON = frozenset(name for name, field in _F.items() if field.get_internal_type() == "JSONField")


def new_ids(n: int) -> list[str]:
    """n random (version 4) UUIDs as text, from one read of the system's randomness and written
    as text straight away (uuid4 reads it once per id, and a UUID object and its str() cost
    ~3 µs a job in a bulk enqueue). Job ids and kombu's delivery tags."""
    h = os.urandom(16 * n).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}  # RFC 4122's variant bits


def db_time(value: datetime | None) -> Any:
    if value is not None and value.tzinfo is not None and postgres():
        return value  # an aware datetime as psycopg takes it; Django's field checks cost ~8 µs a value
    return _F["enqueued_at"].get_db_prep_value(value, connection)


def db_value(name: str, value: Any) -> Any:
    """A column's value for a statement: on PostgreSQL JSON wrapped as Django's field wraps it and
    the types psycopg takes as they are passed through (Django's field path cost ~5 µs a column,
    paid by every column of every enqueue); anything else, and SQLite, through Django's field."""
    if value is None:
        return None
    if postgres():
        if name in _JSON:
            return connection.ops.adapt_json_value(value, None)
        if isinstance(value, str | int | uuid.UUID) or (isinstance(value, datetime) and value.tzinfo):
            return value
    return _F[name].get_db_prep_value(value, connection, prepared=False)


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
    """Many rows of one statement (the write-behind's batches), bound as run_hot binds."""
    with _bound() as cur:
        cur.executemany(sql, params)


def run_hot(sql: str, params: Sequence[Any]) -> list[tuple]:
    """A statement run once per job (the claim, a single enqueue's INSERT): on PostgreSQL with
    server-side binding on the connection Django holds (same transaction, same Django errors),
    so psycopg prepares it after `prepare_threshold` runs. Django sets that to None (never) for
    connection poolers; set it in DATABASES[...]["OPTIONS"] (this project: 5): planning the claim
    against the job table's indexes was two thirds of PostgreSQL's CPU per job, and Django's
    client-side binding ~70 µs of the worker's (docs/PERFORMANCE.md)."""
    with _bound() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


@contextmanager
def _bound() -> Iterator[Any]:
    """A server-side-binding psycopg cursor on Django's connection, opened (and health-checked)
    as Django opens one, its errors Django's (`OperationalError` when the database is away);
    Django's own cursor on SQLite or psycopg2, and where Django is asked to see every statement
    (`connection.execute_wrapper()`, DEBUG's query log)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each attribute read through `connection` costs ~2.5 µs
    conn = hot.psycopg_connection(db)
    if conn is not None:
        with db.wrap_database_errors, psycopg.Cursor(conn) as cur:
            yield cur
        return
    with db.cursor() as cur:
        yield cur


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
    """Write new job rows (the caller's transaction decides when they count): on PostgreSQL one
    statement for any number (table/bulk.py), elsewhere one multi-row INSERT per `batch` rows."""
    if postgres() and len(rows) > 1:
        statement, sql, values = bulk.bulk_statement(rows, COLUMNS, _DEFAULTS)
        if hot.run(statement, values) is None:
            run_hot(sql, values)
        return None
    if len(rows) == 1 and hot.run(_HOT_INSERT, [_column(rows[0], c) for c in COLUMNS]) is not None:
        return None  # a single enqueue outside a transaction: straight through libpq (table/hot.py)
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        params: list[Any] = []
        for row in chunk:
            params.extend(db_value(c, _column(row, c)) for c in COLUMNS)
        run_hot(_insert_sql(len(chunk)), params)


def jobs_insert_send(rows: Sequence[dict[str, Any]]) -> hot.Sent | None:
    """Send new rows' INSERT without waiting for it (`.rows()` waits: the rows are committed),
    where it would go straight through libpq (PostgreSQL, autocommit, no transaction open);
    None elsewhere, where `jobs_insert` writes them."""
    if len(rows) == 1:
        return hot.send(_HOT_INSERT, [_column(rows[0], c) for c in COLUMNS])
    if not postgres() or not rows or connection.in_atomic_block:
        return None  # (inside a transaction hot.send would refuse it: the batch is not built twice)
    statement, _, values = bulk.bulk_statement(rows, COLUMNS, _DEFAULTS)
    return hot.send(statement, values)


_DEFAULTS = {"attempt": 0, "deferrals": 0}


def _column(row: dict[str, Any], name: str) -> Any:
    return row.get(name, _DEFAULTS.get(name))


@functools.cache
def _insert_sql(n: int) -> str:
    """The INSERT of n rows, made once per n (psycopg looks its conversion up by the text)."""
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    return f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES {', '.join([one] * n)}"


_HOT_INSERT = hot.Statement(
    "jobs_insert", _insert_sql(1), json_at=[COLUMNS.index(c) for c in ("args", "kwargs")]
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

"""The two statements every job pays for (its claim; a single enqueue's INSERT) sent straight
through libpq (`psycopg.pq`, psycopg's documented wrapper of it) on the connection Django holds.

Why not psycopg's cursor: measured on the claim (docs/PERFORMANCE.md, "Stop 29"), the cursor's
own Python (the prepared-statement manager, a dumper per parameter, the result's description
and loaders) was most of the worker's CPU per claim, for a statement whose ten parameters are
strings, UUIDs and timestamps and whose one row is five scalars; the round trip is the same.
Sent here, a whole `job_claim` or a single `jobs_insert` costs 80–100 µs of the caller's CPU
instead of 115–150, and 25–60 µs less wall time (`make bench ONLY=jobs_claim`).

Only where that is exactly what psycopg would send: PostgreSQL on psycopg 3, Django in
autocommit mode with no transaction open on the session (libpq's own status says so), so the
statement is its own transaction as psycopg's would be. Anywhere else (`run` answers None) the
caller takes its cursor path: inside `atomic()`, on SQLite, on psycopg2, for a value that has no
plain text form here (a naive datetime), and wherever Django is asked to see every statement
(`connection.execute_wrapper()`, DEBUG's query log), so those still do.

Prepared under the statement's own name, once per connection, when the connection prepares at
all (`prepare_threshold` not None; off behind PgBouncer in transaction mode); a statement the
session lost (DISCARD ALL) is prepared again. Errors are psycopg's, raised inside Django's
`wrap_database_errors`, so callers see Django's classes (`OperationalError` when the database
is away) as from any cursor.
"""

from __future__ import annotations

import json
import select
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import pq

_IDLE = pq.TransactionStatus.IDLE
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_LOST_STATEMENT = "26000"  # invalid_sql_statement_name: the session no longer has it


class Unfit(Exception):
    """A parameter with no text form here: the caller's cursor path takes the statement."""


class Statement:
    """One hot statement: `sql` with %s placeholders, `json_at` the parameters that are JSON,
    `columns` how to read each returned column's text (None: no rows)."""

    def __init__(
        self,
        name: str,
        sql: str,
        *,
        json_at: Sequence[int] = (),
        columns: Sequence[Callable[[str], Any]] = (),
    ) -> None:
        if "%%" in sql:
            raise ValueError(f"{name}: a literal % is not supported here")
        parts = sql.split("%s")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
        self.name, self.sql = name.encode(), numbered.encode()
        self.json_at, self.columns = frozenset(json_at), tuple(columns)

    def params(self, values: Sequence[Any]) -> list[bytes | None]:
        return [_json(v) if i in self.json_at else _text(v) for i, v in enumerate(values)]

    def rows(self, result: Any) -> list[tuple]:
        read = self.columns
        return [
            tuple(
                None if (raw := result.get_value(r, c)) is None else read[c](raw.decode())
                for c in range(len(read))
            )
            for r in range(result.ntuples)
        ]


def psycopg_connection(db: Any) -> psycopg.Connection | None:
    """Django's psycopg 3 connection, opened and health-checked as Django's `cursor()` opens it,
    for the layer's per-job statements; None where they take Django's own cursor: not PostgreSQL
    on psycopg 3, or Django asked to see every statement (`execute_wrapper()`, DEBUG's log)."""
    if db.vendor != "postgresql" or db.execute_wrappers or db.queries_logged:
        return None
    db.close_if_health_check_failed()
    db.ensure_connection()
    conn = db.connection
    if not isinstance(conn, psycopg.Connection):
        return None
    db.validate_thread_sharing()
    return conn


def run(statement: Statement, values: Sequence[Any]) -> list[tuple] | None:
    """The statement's rows, or None when it cannot be sent this way here (see the module)."""
    sent = send(statement, values)
    return None if sent is None else sent.rows()


class Sent:
    """A statement on its way: `rows()` waits for its answer. One per connection at a time."""

    def __init__(self, db: Any, conn: Any, statement: Statement, params: list[bytes | None]) -> None:
        self.db, self.conn, self.statement, self.params = db, conn, statement, params

    def rows(self) -> list[tuple]:
        with self.db.wrap_database_errors, self.conn.lock:
            return self.statement.rows(_answer(self.conn, self.statement, self.params))


def send(statement: Statement, values: Sequence[Any]) -> Sent | None:
    """Send the statement and return without waiting for its answer: `Sent.rows()` reads it,
    and until then the connection takes nothing else (a solo worker's early claim, core/early.py,
    reads it within kombu's own call). None where `run` would answer None."""
    db = connections[DEFAULT_DB_ALIAS]
    conn = None if db.in_atomic_block else psycopg_connection(db)
    if conn is None or not conn.autocommit:
        return None
    try:
        params = statement.params(values)
    except Unfit:
        return None
    with db.wrap_database_errors, conn.lock:
        if conn.closed:
            raise psycopg.OperationalError("the connection is closed")
        pgconn = conn.pgconn
        if pgconn.transaction_status != _IDLE or pgconn.pipeline_status != pq.PipelineStatus.OFF:
            return None
        _send(conn, pgconn, statement, params)
    return Sent(db, conn, statement, params)


def _send(conn: Any, pgconn: Any, statement: Statement, params: list[bytes | None]) -> None:
    if conn.prepare_threshold is None:  # preparing is off: bound on the server all the same
        pgconn.send_query_params(statement.sql, params)
        return
    prepared: set[bytes] = conn.__dict__.setdefault("_jobs_prepared", set())
    if statement.name not in prepared:
        pgconn.send_prepare(statement.name, statement.sql)
        _result(conn, pgconn)
        prepared.add(statement.name)
    pgconn.send_query_prepared(statement.name, params)


def _answer(conn: Any, statement: Statement, params: list[bytes | None]) -> Any:
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    try:
        return _result(conn, conn.pgconn)
    except psycopg.Error as exc:
        if exc.sqlstate != _LOST_STATEMENT:
            raise
    conn.__dict__["_jobs_prepared"].discard(statement.name)  # the session dropped it: once more
    _send(conn, conn.pgconn, statement, params)
    return _result(conn, conn.pgconn)


def _result(conn: Any, pgconn: Any) -> Any:
    """Wait for the statement's result and raise it as psycopg's error when it is one.

    The wait lets a signal's handler run (a soft time limit, a shutdown): when one raises, the
    statement is cancelled on the server and its result drained, as psycopg does on Ctrl-C, so
    the connection is usable again; if even that fails, it is closed (Django reconnects)."""
    try:
        _wait(pgconn)
    except BaseException:
        try:
            conn.cancel_safe(timeout=5.0)
            while pgconn.get_result() is not None:
                pass
        except Exception:
            conn.close()
        raise
    result = last = pgconn.get_result()
    while last is not None:  # read up to the end of the statement; the first result is its answer
        last = pgconn.get_result()
    if result is None:
        raise psycopg.OperationalError(pgconn.error_message.decode(errors="replace") or "no result")
    if result.status not in _OK:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return result


def _wait(pgconn: Any) -> None:
    """poll(2), not select(2): a worker may hold more than 1,024 descriptors."""
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLOUT)
    while pgconn.flush():
        poller.poll()
    poller.modify(pgconn.socket, select.POLLIN)
    pgconn.consume_input()
    while pgconn.is_busy():
        poller.poll()
        pgconn.consume_input()


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int | uuid.UUID):
        return str(value).encode()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat().encode()
    raise Unfit(type(value).__name__)


def _json(value: Any) -> bytes | None:
    """As Django's JSONField (encoder None) hands it to psycopg: `json.dumps`."""
    return None if value is None else json.dumps(value).encode()


def boolean(text: str) -> bool:
    return text == "t"

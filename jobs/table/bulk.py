"""Many new job rows in one PostgreSQL statement (a bulk enqueue).

The rows go as one JSON array that PostgreSQL unpacks (`jsonb_array_elements`), and a column
every row shares (a bulk enqueue's task, queue, state, times, options) goes once, as a parameter
of its own. Why not COPY, which this replaced: COPY made psycopg convert all sixteen columns of
every row in Python and could only be waited for, while this statement is one parameter built by
`json.dumps` in C, sent through libpq (table/hot.py) without waiting, so a bulk enqueue builds its
broker messages while PostgreSQL inserts and commits (jobs.core.handoff) — 1.4× the jobs/s of the
COPY at 1,000 rows a batch (docs/PERFORMANCE.md, "Stop 35").

One statement for the whole batch, as the COPY was: in autocommit every row commits or none does.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from operator import methodcaller
from typing import Any

from django.db import connection

from jobs.models import Job
from jobs.table import hot

_F = {f.attname: f for f in Job._meta.concrete_fields}


def bulk_statement(
    rows: Sequence[dict[str, Any]], columns: tuple[str, ...], defaults: dict[str, Any]
) -> tuple[hot.Statement, str, list[Any]]:
    """(the statement for libpq, the same with %s for a psycopg cursor, its parameters): the
    columns all rows share first, each once, then every row's own columns as one JSON array.
    A column missing from a row takes `defaults`' value, else None."""
    values = {c: list(map(methodcaller("get", c, defaults.get(c)), rows)) for c in columns}
    shared = tuple(c for c in columns if values[c].count(values[c][0]) == len(rows))
    own = tuple(c for c in columns if c not in shared)
    data = json.dumps(list(zip(*(values[c] for c in own), strict=True)), default=_json_default)
    statement, sql = _sql(columns, shared, own)
    return statement, sql, [_shared_param(c, values[c][0]) for c in shared] + [data]


@functools.cache
def _sql(
    columns: tuple[str, ...], shared: tuple[str, ...], own: tuple[str, ...]
) -> tuple[hot.Statement, str]:
    """Made once per set of shared columns; prepared under a name of its own per connection."""
    picks = []
    for column in columns:
        # The type without its length: an explicit cast to varchar(n) would cut a long value
        # where the INSERT refuses it (as COPY did).
        kind = str(_F[column].db_type(connection)).split("(")[0]
        if column in shared:
            picks.append(f"%s::{kind}")
        elif kind == "jsonb":  # a JSON null is SQL NULL, as Django's JSONField stores None
            picks.append(f"NULLIF(e->{own.index(column)}, 'null'::jsonb)")
        else:
            picks.append(f"(e->>{own.index(column)})::{kind}")
    sql = (
        f"INSERT INTO {Job._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(picks)} FROM jsonb_array_elements(%s::jsonb) AS e"
    )
    mask = sum(1 << i for i, c in enumerate(columns) if c in shared)
    return hot.Statement(f"jobs_insert_many_{mask:x}", sql), sql


def _shared_param(column: str, value: Any) -> Any:
    if value is not None and _F[column].get_internal_type() == "JSONField":
        return json.dumps(value)
    return value


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a job column's value")

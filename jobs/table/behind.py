"""The write-behind's statements (table/history.py flushes them): a batch of successes and a
batch of publish marks, each one statement for the whole batch on PostgreSQL.

One statement per job (`executemany`) cost the flushing process CPU and PostgreSQL an execution
per job; the bulk enqueue's publish marks alone cost about as much as its publish
(docs/PERFORMANCE.md, "Stop 33").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from jobs.models import JobState
from jobs.table.rows import ATTEMPT_TABLE, TABLE, db_id, db_time, db_value, executemany, run_hot, run_sql

# A success: the job's finish and its attempt row, written behind (table/history.py), and only
# while the run still holds its lease. On SQLite two statements per job (no UPDATE in a WITH).
_FINISH = (
    f"UPDATE {TABLE} SET state = %s, finished_at = %s, result = %s, lease_token = NULL, "
    f"lease_expires_at = NULL WHERE id = %s AND lease_token = %s"
)


def finish_params(
    job_id: str, token: str, started: datetime, now: datetime, duration: float, worker: str, result: Any
) -> list:
    return [
        JobState.SUCCEEDED,
        db_time(now),
        db_value("result", result),
        db_id(job_id),
        token,
        db_time(started),
        db_time(now),
        round(duration * 1000, 3),
        worker[:200],
        "succeeded",
    ]


# On PostgreSQL the whole batch in one statement, its rows as arrays: finish_params' positions
# of the job id, token, started, finished, duration, worker and result, in the unnest's order.
_ARRAYS = (3, 4, 5, 6, 7, 8, 2)
_FINISH_MANY = (
    f"WITH v AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::timestamptz[], "
    f"%s::float8[], %s::text[], %s::jsonb[]) AS v(id, token, started_at, finished_at, duration_ms, "
    f"worker, result)), f AS (UPDATE {TABLE} AS j SET state = %s, finished_at = v.finished_at, "
    f"result = v.result, lease_token = NULL, lease_expires_at = NULL FROM v "
    f"WHERE j.id = v.id AND j.lease_token = v.token "
    f"RETURNING j.id, j.attempt, v.started_at, v.finished_at, v.duration_ms, v.worker) "
    f"INSERT INTO {ATTEMPT_TABLE} (job_id, attempt, started_at, finished_at, duration_ms, worker, "
    f"outcome, error) SELECT id, attempt, started_at, finished_at, duration_ms, worker, %s, '' FROM f"
)


def jobs_finish(batch: list[list[Any]]) -> None:
    """Write a batch of successes (finish_params rows)."""
    if connection.vendor == "postgresql":
        columns = [[p[i] for p in batch] for i in _ARRAYS]
        run_hot(_FINISH_MANY, [*columns, JobState.SUCCEEDED, "succeeded"])
        return
    for p in batch:  # SQLite has no UPDATE in a WITH: the same, in two statements
        rows = run_sql(f"{_FINISH} RETURNING attempt", p[:5])
        if rows:
            run_sql(
                f"INSERT INTO {ATTEMPT_TABLE} (job_id, attempt, started_at, finished_at, duration_ms, "
                f"worker, outcome, error) VALUES (%s, %s, %s, %s, %s, %s, %s, '')",
                [p[3], rows[0][0], *p[5:]],
            )


PUBLISHED_SQL = f"UPDATE {TABLE} SET published_at = %s WHERE id = %s AND published_at IS NULL"
_PUBLISHED_MANY = (
    f"UPDATE {TABLE} AS j SET published_at = v.at FROM unnest(string_to_array(%s, ',')::uuid[], "
    f"string_to_array(%s, ',')::timestamptz[]) AS v(id, at) WHERE j.id = v.id AND j.published_at IS NULL"
)


def jobs_mark_published(batch: list[tuple[datetime, list[str]]]) -> None:
    """Write publish marks: (when, job ids) per batch the broker took. On PostgreSQL one statement
    for them all, the ids and the times each as one string (no UUID or datetime object per job)."""
    if connection.vendor != "postgresql":
        executemany(PUBLISHED_SQL, [[db_time(at), db_id(i)] for at, ids in batch for i in ids])
        return
    all_ids = ",".join(",".join(ids) for _, ids in batch)
    times = ",".join(",".join([at.isoformat()] * len(ids)) for at, ids in batch)
    run_hot(_PUBLISHED_MANY, [all_ids, times])

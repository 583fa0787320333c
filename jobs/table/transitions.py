"""Every write that moves a job between states, each one conditional SQL.

Conditions carry the rules: only a queued job (or a started one whose lease lapsed) can be
claimed; only the holder of the lease can finish it; only a waiting job can be deferred or moved.
So several processes on several machines may race on a row and exactly one move happens, with
no lock held across a broker call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction

from jobs.conf import conf
from jobs.models import JobState, QueueControl
from jobs.runtime import runtime
from jobs.table import hot
from jobs.table.rows import (
    ATTEMPT_TABLE,
    TABLE,
    db_id,
    db_time,
    db_value,
    postgres,
    run_hot,
    run_sql,
)

QUEUE_TABLE = QueueControl._meta.db_table


# -- execution ------------------------------------------------------------------------------
def relaxed_commit() -> None:
    """PostgreSQL: this transaction's commit need not wait for the disk (synchronous_commit off).

    Only for the layer's own bookkeeping (claims, write-behind): a PostgreSQL crash may forget
    the last fraction of a second of them, and the job then runs once more — at least once, as
    after any crash. Enqueues and the apps' own writes stay durable."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        run_sql("SET LOCAL synchronous_commit TO OFF", [])


def job_claim(job_id: str, *, token: str, worker: str, now: datetime, lease_until: datetime) -> tuple | None:
    """Start a delivery: (attempt, max_attempts, deferrals, secret_payload, paused), or None when the job
    is not runnable (finished, cancelled, waiting for its time, or running under a live lease).

    On PostgreSQL outside a transaction this is one prepared statement sent through libpq
    (table/hot.py), one round trip, whose commit does not wait for the disk (see relaxed_commit
    and RELAXED_CLAIM_SQL)."""
    params = _claim_params(job_id, token, worker, now, lease_until)
    rows = hot.run(HOT_CLAIM, params)  # outside a transaction on PostgreSQL: straight through libpq
    if rows is None:
        relaxed = postgres() and not connection.in_atomic_block
        rows = run_hot(RELAXED_CLAIM_SQL if relaxed else CLAIM_SQL, params)
    return rows[0] if rows else None


def job_claim_undo(job_id: str, token: str) -> bool:
    """Give back a claim whose job did not run here: queued again, its attempt not counted."""
    rows = run_sql(
        f"UPDATE {TABLE} SET state = %s, attempt = attempt - 1, lease_token = NULL, "
        f"lease_expires_at = NULL WHERE id = %s AND lease_token = %s RETURNING id",
        [JobState.QUEUED, db_id(job_id), token],
    )
    return bool(rows)


def job_claim_send(
    job_id: str, *, token: str, worker: str, now: datetime, lease_until: datetime
) -> hot.Sent | None:
    """`job_claim` sent without waiting for it: `.rows()` answers it later ([] or job_claim's
    row), and Django's connection takes nothing else until then; None where it cannot be sent so
    (see table/hot.py): the job claims when it starts."""
    return hot.send(HOT_CLAIM, _claim_params(job_id, token, worker, now, lease_until))


def _claim_params(job_id: str, token: str, worker: str, now: datetime, lease_until: datetime) -> list:
    return [
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


CLAIM_SQL = (
    f"UPDATE {TABLE} SET state = %s, attempt = attempt + 1, started_at = %s, worker = %s, "
    f"lease_token = %s, lease_expires_at = %s, published_at = COALESCE(published_at, %s) "
    f"WHERE id = %s AND (state = %s OR (state = %s AND lease_expires_at < %s "
    f"AND attempt < (CASE WHEN max_attempts > 2 THEN max_attempts ELSE 2 END))) "
    f"RETURNING attempt, max_attempts, deferrals, secret_payload, "
    # The queue's pause, read in the claim itself: a pause reaches every process at once (a
    # prefork child's cached controls could be seconds old) at the price of no extra round trip.
    f"COALESCE((SELECT paused FROM {QUEUE_TABLE} q WHERE q.queue = {TABLE}.queue), FALSE)"
)


# The claim with its own `SET LOCAL synchronous_commit TO OFF`, in one statement so that it can be
# prepared (two statements in one string cannot): the materialized CTE runs set_config before the
# UPDATE, for this statement's implicit transaction only. Outside a caller's transaction only.
RELAXED_CLAIM_SQL = (
    "WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v) "
    + CLAIM_SQL.replace("WHERE id = %s AND", "WHERE id = %s AND (SELECT v FROM relaxed) = 'off' AND", 1)
)
HOT_CLAIM = hot.Statement("jobs_claim", RELAXED_CLAIM_SQL, columns=(int, int, int, str, hot.boolean))


# A wake-up comes this much after the due time: a stager a hair early would find nothing, then poll.
DUE_SLACK = 0.01


def stager_wake(in_seconds: float = 0.0) -> None:
    """A job of this process falls due in `in_seconds` (a snooze, a retry, a freed gate): when this
    process runs the stager (a worker node) it looks then, not at its next poll; other processes'
    stagers find it at their poll (JOBS_MOVER_INTERVAL), the fallback for all."""
    if in_seconds < conf().mover_interval:
        runtime().wake("stager", in_seconds + DUE_SLACK)


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


def job_end(job_id: str, token: str, state: str, attempt: dict[str, Any] | None, **values: Any) -> bool:
    """`job_transition` and, only when it happened, the attempt row, in one transaction: a job's
    page always lists the attempt that moved it, and a stale run (its lease lost) writes neither."""
    with transaction.atomic():
        moved = job_transition(job_id, token, state, **values)
        if moved and attempt is not None:
            attempt_insert([attempt])
    return moved


ATTEMPT_COLUMNS = (
    "job_id",
    "attempt",
    "started_at",
    "finished_at",
    "duration_ms",
    "worker",
    "outcome",
    "error",
)


def attempt_insert(rows: list[dict[str, Any]]) -> None:
    one = "(" + ", ".join(["%s"] * len(ATTEMPT_COLUMNS)) + ")"
    params: list[Any] = []
    for row in rows:
        params += [_attempt_value(c, row) for c in ATTEMPT_COLUMNS]
    run_sql(
        f"INSERT INTO {ATTEMPT_TABLE} ({', '.join(ATTEMPT_COLUMNS)}) VALUES {', '.join([one] * len(rows))}",
        params,
    )


def _attempt_value(column: str, row: dict[str, Any]) -> Any:
    value = row.get(column, "" if column in ("worker", "error") else None)
    if column == "job_id":
        return db_id(value)
    return db_time(value) if column in ("started_at", "finished_at") else value


def leases_renew(held: list[tuple[str, str]], until: datetime) -> set[str]:
    """Extend the leases of (job_id, token) pairs; returns the tokens that still hold their row."""
    if not held:
        return set()
    pairs = ", ".join(["(%s, %s)"] * len(held))
    params: list[Any] = [db_time(until)]
    for job_id, token in held:
        params += [db_id(job_id), token]
    rows = run_sql(
        f"UPDATE {TABLE} SET lease_expires_at = %s WHERE (id, lease_token) IN (VALUES {pairs}) "
        f"RETURNING lease_token",
        params,
    )
    return {r[0] for r in rows}


def job_cancel(job_id: str, now: datetime, *, running_too: bool = False, reason: str = "") -> str | None:
    """Cancel a waiting job (and a running one when `running_too`: its lease is taken away, so
    its run records nothing and the lifeline leaves it). Returns the state it was in, or None
    when it was neither (finished, or running and not asked)."""
    states = [JobState.SCHEDULED, JobState.QUEUED, JobState.RETRYING]
    if running_too:
        states.append(JobState.STARTED)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic():
        found = run_sql(f"SELECT state FROM {TABLE} WHERE id = %s{lock}", [db_id(job_id)])
        if not found or found[0][0] not in states:
            return None
        run_sql(
            f"UPDATE {TABLE} SET state = %s, finished_at = %s, lease_token = NULL, lease_expires_at = NULL, "
            f"last_error = COALESCE(%s, last_error), waiting_for = NULL WHERE id = %s AND state = %s",
            [JobState.CANCELLED, db_time(now), reason or None, db_id(job_id), found[0][0]],
        )
    return str(found[0][0])


def attempt_lost_record(job_id: str, attempt: int, now: datetime) -> None:
    """A delivery took over a lapsed lease (its process died and the message came back before
    the lifeline): the lapsed attempt gets its `lost` row, as the lifeline would write it."""
    rows = run_sql(
        f"SELECT 1 FROM {ATTEMPT_TABLE} WHERE job_id = %s AND attempt = %s", [db_id(job_id), attempt]
    )
    if not rows:
        attempt_insert(
            [
                {
                    "job_id": job_id,
                    "attempt": attempt,
                    "started_at": now,
                    "finished_at": now,
                    "outcome": "lost",
                    "error": "lease lapsed: the process running it is gone (taken over by a new delivery)",
                }
            ]
        )

"""The job table's sweeps: the mover, the relay, the reconciler, rescue and the operator's
re-enqueue each take rows with one conditional UPDATE … RETURNING, so two sweepers on two
machines never take the same row (PostgreSQL skips rows another sweeper has locked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.models import JobState
from jobs.table import clock
from jobs.table.rows import (
    ATTEMPT_TABLE,
    SPEC,
    TABLE,
    db_id,
    db_time,
    executemany,
    pick_sql,
    run_sql,
    to_specs,
)


def jobs_take_due(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Scheduled and retrying jobs whose time has come become queued (unpublished) at once."""
    waiting = (JobState.SCHEDULED, JobState.RETRYING)
    pick = pick_sql("state IN (%s, %s) AND scheduled_at <= %s", "scheduled_at")
    rows = run_sql(
        f"UPDATE {TABLE} SET state = %s, published_at = NULL WHERE id IN ({pick}) AND state IN (%s, %s) "
        f"RETURNING {SPEC}",
        [JobState.QUEUED, *waiting, db_time(now), limit, *waiting],
    )
    return to_specs(rows)


def jobs_take_unpublished(now: datetime, older_than: datetime, limit: int) -> list[dict[str, Any]]:
    """Queued jobs no broker has been given (died after commit, broker down at enqueue)."""
    pick = pick_sql(
        "state = %s AND published_at IS NULL AND COALESCE(scheduled_at, enqueued_at) < %s", "enqueued_at"
    )
    rows = run_sql(
        f"UPDATE {TABLE} SET published_at = %s WHERE id IN ({pick}) AND published_at IS NULL "
        f"RETURNING {SPEC}",
        [db_time(now), JobState.QUEUED, db_time(older_than), limit],
    )
    return to_specs(rows)


def jobs_take_published_before(
    now: datetime, before: datetime, limit: int, queue: str | None = None
) -> list[dict[str, Any]]:
    """Queued jobs handed to a broker before `before` (which has since forgotten them)."""
    where, params = "state = %s AND published_at < %s", [JobState.QUEUED, db_time(before)]
    if queue is not None:
        where, params = where + " AND queue = %s", [*params, queue]
    pick = pick_sql(where, "published_at")
    rows = run_sql(
        f"UPDATE {TABLE} SET published_at = %s WHERE id IN ({pick}) AND state = %s RETURNING {SPEC}",
        [db_time(now), *params, limit, JobState.QUEUED],
    )
    return to_specs(rows)


# A lost node is not the job's fault: a job is rescued at least once, then its budget holds.
RESCUE_BUDGET = "(CASE WHEN max_attempts > 2 THEN max_attempts ELSE 2 END)"


def jobs_take_lapsed(now: datetime, lapsed_before: datetime, limit: int) -> list[dict[str, Any]]:
    """Started jobs whose lease lapsed before `lapsed_before` (their process is gone): queued
    again (marked published by the caller's publish to come), or failed when no attempt is left
    (Oban's Lifeline). Each spec also names the worker and the state the job was given."""
    pick = pick_sql("state = %s AND lease_expires_at < %s", "lease_expires_at")
    lost = f"(SELECT COUNT(*) + 1 FROM {ATTEMPT_TABLE} a WHERE a.job_id = {TABLE}.id AND a.outcome = 'lost')"
    spent = f"attempt >= {RESCUE_BUDGET}"
    rows = run_sql(
        f"UPDATE {TABLE} SET state = CASE WHEN {spent} THEN %s ELSE %s END, "
        f"finished_at = CASE WHEN {spent} THEN %s ELSE NULL END, "
        f"last_error = CASE WHEN {spent} THEN 'lost ' || {lost} || ' times: the process running it died' "
        f"ELSE last_error END, published_at = %s, scheduled_at = %s, lease_token = NULL, "
        f"lease_expires_at = NULL WHERE id IN ({pick}) AND state = %s AND lease_expires_at < %s "
        f"RETURNING {SPEC}, worker, state",
        [
            JobState.FAILED,
            JobState.QUEUED,
            db_time(now),
            db_time(now),
            db_time(now),
            JobState.STARTED,
            db_time(lapsed_before),
            limit,
            JobState.STARTED,
            db_time(lapsed_before),
        ],
    )
    specs = to_specs([r[:-2] for r in rows])
    for spec, row in zip(specs, rows, strict=True):
        spec["worker"], spec["state"] = row[-2] or "", row[-1]
    return specs


def queued_published_queues(before: datetime) -> list[str]:
    rows = run_sql(
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


def jobs_take_waiting(ids: list[str], now: datetime) -> list[dict[str, Any]]:
    """The operator's "re-enqueue": these waiting jobs are queued now (due or not), to be published."""
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    waiting = (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING)
    rows = run_sql(
        f"UPDATE {TABLE} SET state = %s, published_at = %s, scheduled_at = %s "
        f"WHERE id IN ({marks}) AND state IN (%s, %s, %s) RETURNING {SPEC}",
        [JobState.QUEUED, db_time(now), db_time(now), *[db_id(i) for i in ids], *waiting],
    )
    return to_specs(rows)


def gate_wake(waiting_for: str, n: int = 1) -> int:
    """A gate freed: the oldest `n` jobs parked on it are due now (the stager queues them)."""
    pick = pick_sql("state = %s AND waiting_for = %s", "scheduled_at")
    rows = run_sql(
        f"UPDATE {TABLE} SET scheduled_at = %s, waiting_for = NULL WHERE id IN ({pick}) RETURNING id",
        [db_time(clock.db_now()), JobState.SCHEDULED, waiting_for, n],
    )
    return len(rows)


def jobs_take_finished(job_id: str, now: datetime) -> list[dict[str, Any]]:
    """The operator's retry: a failed or cancelled job goes back to queued as the same job, its
    attempt budget raised by one when spent (Oban's retry_job); its history stays."""
    rows = run_sql(
        f"UPDATE {TABLE} SET state = %s, max_attempts = CASE WHEN attempt >= max_attempts "
        f"THEN attempt + 1 ELSE max_attempts END, finished_at = NULL, scheduled_at = NULL, "
        f"published_at = %s, lease_token = NULL, lease_expires_at = NULL, waiting_for = NULL "
        f"WHERE id = %s AND state IN (%s, %s) RETURNING {SPEC}",
        [JobState.QUEUED, db_time(now), db_id(job_id), JobState.FAILED, JobState.CANCELLED],
    )
    return to_specs(rows)

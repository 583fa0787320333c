"""Handing a newly stored job to the broker at enqueue: after the caller's transaction commits
(Django's `transaction.on_commit`, which runs at once in autocommit), or, for an enqueue
outside a transaction, overlapped with PostgreSQL's insert and commit.

The row is always committed before a message for it exists; a publish that fails is left to the
relay (jobs.plugins.reconciler), so an enqueue returns even with the broker down.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from jobs.broker import publish
from jobs.models import JobState
from jobs.table import hot
from jobs.table.rows import jobs_insert, jobs_insert_send


def jobs_store(rows: Sequence[dict[str, Any]]) -> None:
    """Write new rows and publish the queued ones once they are committed: the one path of a
    single enqueue and a bulk one. Outside a transaction the INSERT is sent without waiting and
    the messages are built meanwhile (`insert_then_publish`); inside one, they are published
    when it commits (Django's `on_commit`, at once in autocommit) and never if it rolls back."""
    specs = [spec_for(row) for row in rows if row["state"] == JobState.QUEUED]
    if (sent := jobs_insert_send(rows)) is not None:
        insert_then_publish(sent, specs)
        return
    jobs_insert(rows)
    if specs:
        transaction.on_commit(lambda: publish.jobs_publish(specs), robust=True)


def insert_then_publish(sent: hot.Sent, specs: list[dict[str, Any]]) -> None:
    """An enqueue outside a transaction, its INSERT already sent (`rows.jobs_insert_send`): the
    messages are made ready while PostgreSQL runs the INSERT and commits it, and published once
    that answered; an INSERT that failed (its error raised here) publishes nothing. The INSERT's
    answer is always read, so the connection is free again whatever happens in between."""
    try:
        pending = publish.Pending(specs)
    except BaseException:
        sent.rows()
        raise
    try:
        sent.rows()
    except BaseException:
        pending.drop()
        raise
    pending.send()


def spec_for(row: dict[str, Any]) -> dict[str, Any]:
    """What the publish path needs of a new row."""
    return {k: row[k] for k in ("task", "queue", "priority", "args", "kwargs")} | {
        "id": str(row["id"]),
        "attempt": 0,
        "deferrals": 0,
    }

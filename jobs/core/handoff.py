"""Handing a newly stored job to the broker at enqueue: after the caller's transaction commits
(Django's `transaction.on_commit`, which runs at once in autocommit), or, for an enqueue
outside a transaction, overlapped with PostgreSQL's insert and commit.

The row is always committed before a message for it exists; a publish that fails is left to the
relay (jobs.plugins.reconciler), so an enqueue returns even with the broker down.
"""

from __future__ import annotations

from typing import Any

from jobs.broker import publish
from jobs.table import hot


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

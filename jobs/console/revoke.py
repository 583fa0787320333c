"""Celery's own cancel goes through the job table: Flower's Revoke button, `AsyncResult(id).revoke()`
and `celery control revoke` mark the job `cancelled`; a terminate (`revoke(terminate=True)`)
cancels the running job, its attempt `cancelled`, so the lifeline never brings it back.

Celery sends `task_revoked` in the worker that drops a revoked message or kills its run; the row
is moved there, conditionally, so a job that already ended keeps its ending.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import current_app
from celery.worker import state as worker_state
from celery.worker.control import control_command

from jobs import telemetry
from jobs.models import JobAttempt, JobState
from jobs.table import clock, rows, transitions

logger = logging.getLogger("jobs.revoke")


def job_revoked(
    sender: Any = None, request: Any = None, terminated: bool = False, expired: bool = False, **_kw: Any
) -> None:
    if sender is None or not hasattr(sender, "job_options") or request is None:
        return  # not a job task: Celery's own bookkeeping is all there is
    job_id = str(request.id)
    why = "expired" if expired else ("terminated" if terminated else "revoked")
    try:
        cancelled = transitions.job_cancel(job_id, clock.db_now(), running_too=terminated)
    except Exception as exc:  # the database is away: the row stays; the next delivery decides
        logger.warning(
            "revoke not recorded", extra={"fields": {"job_id": job_id, "error": type(exc).__name__}}
        )
        return
    if cancelled is None:
        return
    if cancelled == JobState.STARTED:
        now = clock.db_now()
        transitions.attempt_insert(
            [
                {
                    "job_id": job_id,
                    "attempt": int(getattr(request, "attempt", 0) or 0) or _attempt(job_id),
                    "started_at": now,
                    "finished_at": now,
                    "worker": (getattr(request, "hostname", "") or "")[:200],
                    "outcome": JobAttempt.Outcome.CANCELLED,
                    "error": f"cancelled: {why} through Celery",
                }
            ]
        )
    telemetry.log_event("cancelled", sender.name, job_id, queue=getattr(sender, "queue", ""), reason=why)


def _attempt(job_id: str) -> int:
    found = rows.run_sql(f"SELECT attempt FROM {rows.TABLE} WHERE id = %s", [rows.db_id(job_id)])
    return int(found[0][0]) if found else 0


@control_command(args=[("ids", str)], signature="<id,...>")
def jobs_unrevoke(state: Any, ids: str = "", **_kw: Any) -> dict[str, str]:
    """Forget revokes of these job ids (the operator retried them: the same ids run again)."""
    gone = [i for i in ids.split(",") if i]
    for job_id in gone:
        worker_state.revoked.discard(job_id)
    return {"ok": f"forgot {len(gone)} revoke(s)"}


def unrevoke(ids: list[str]) -> None:
    try:
        current_app.control.broadcast("jobs_unrevoke", arguments={"ids": ",".join(ids)})
    except Exception:  # no broker: no worker is listening either, and revokes live in memory
        logger.warning("unrevoke not broadcast", extra={"fields": {"jobs": len(ids)}})


def terminate_later(job_id: str, grace: float) -> None:
    """After `grace` seconds, kill the process still running a cancelled job (its run records
    nothing either way: its lease is gone). Best effort: a web process that dies first leaves the
    run to end by itself."""
    timer = threading.Timer(grace, _terminate, args=(job_id,))
    timer.daemon = True
    timer.start()


def _terminate(job_id: str) -> None:
    try:
        current_app.control.revoke(job_id, terminate=True, signal="SIGKILL")
    except Exception:
        logger.warning("terminate not sent", extra={"fields": {"job_id": job_id}})

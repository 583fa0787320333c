"""One outcome per delivery: computed once, written once, reported once, answered to Celery once.

Every way out of a delivery — succeeded, snoozed, deferred by a gate, retrying, failed, an error
before or during the claim, arguments that cannot be opened, a gate that raises, a lease lost —
is one `Outcome` (oban-py's `AckAction`). `outcome_write` is the only writer of a delivery's
state, `telemetry.delivery_stopped` the only place that logs and signals it, and `celery_answer` the
only place that tells Celery (so Flower) how it went. Nothing reaches Celery as a raw exception:
its ack never decides a job's fate on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import Ignore, Reject, Retry

from jobs.conf import conf
from jobs.core.results import JobFailed
from jobs.models import JobAttempt, JobState
from jobs.table import behind, clock, history, transitions

if TYPE_CHECKING:
    from jobs.core.execution import Execution

# kind -> (the state written, the attempt row's outcome, counted as an attempt)
KINDS: dict[str, tuple[str | None, str | None, bool]] = {
    "succeeded": (JobState.SUCCEEDED, JobAttempt.Outcome.SUCCEEDED, True),
    "retrying": (JobState.RETRYING, JobAttempt.Outcome.RETRYING, True),
    "failed": (JobState.FAILED, JobAttempt.Outcome.FAILED, True),
    "snoozed": (JobState.SCHEDULED, JobAttempt.Outcome.SNOOZED, False),
    "deferred": (JobState.SCHEDULED, None, False),  # a gate said "not yet": no attempt, no row
    "requeued": (None, None, False),  # the database could not decide: the message goes back
    "dropped": (None, None, False),  # not runnable (finished, cancelled, running, pruned)
    "lease_lost": (None, None, False),  # rescued or cancelled meanwhile: a stale run records nothing
}


@dataclass(frozen=True)
class Outcome:
    kind: str
    delay: float = 0.0  # seconds until the job is due again (snoozed, deferred, retrying)
    error: str = ""  # the job's last_error (filtered text, never arguments)
    reason: str = ""  # why (a gate, a snooze's reason, why a delivery was dropped)
    error_type: str = ""  # the exception's class name, for logs and metrics
    result: Any = None
    waiting_for: str | None = None  # a gate's key: the job is woken when the gate frees

    @property
    def state(self) -> str | None:
        return KINDS[self.kind][0]


def outcome_write(ex: Execution, outcome: Outcome, duration: float) -> bool:
    """Write the delivery's outcome to the job table (the only writer); False when the run had
    lost its lease, so nothing was written."""
    state, attempt_outcome, counted = KINDS[outcome.kind]
    if state is None:
        return outcome.kind != "lease_lost"
    now = clock.db_now()
    if outcome.kind == "succeeded":  # the hot path: written behind, still fenced by the lease
        history.record(
            history.FINISH,
            behind.finish_params(
                ex.job_id, ex.token, ex.started_at, now, duration, ex.worker, outcome.result
            ),
        )
        return True
    attempt = None
    if attempt_outcome is not None:
        attempt = {
            "job_id": ex.job_id,
            "attempt": ex.attempt,
            "started_at": ex.started_at,
            "finished_at": now,
            "duration_ms": round(duration * 1000, 3),
            "worker": ex.worker[:200],
            "outcome": attempt_outcome,
            "error": outcome.error or outcome.reason,
        }
    values: dict[str, Any] = {"uncount": not counted}
    if outcome.kind in ("retrying", "snoozed", "deferred"):
        values["scheduled_at"] = now + timedelta(seconds=outcome.delay)
    if outcome.kind in ("retrying", "failed"):
        values["last_error"] = outcome.error
    if outcome.kind == "failed":
        values["finished_at"] = now
    values["waiting_for"] = outcome.waiting_for  # parked behind a gate, or (any other way out) not
    history.flush()  # the attempt rows before this one's state, in order
    moved = transitions.job_end(ex.job_id, ex.token, state, attempt, **values)
    if moved and "scheduled_at" in values and not outcome.waiting_for:
        transitions.stager_wake(outcome.delay)  # due soon: moved then, not at the next poll
    return moved


def celery_answer(outcome: Outcome, task: Any) -> Any:
    """What Celery hears, so its events (and Flower) say what the job table says."""
    kind = outcome.kind
    if kind == "succeeded":
        return outcome.result
    if kind == "failed":
        raise JobFailed(outcome.error or "failed")
    if kind in ("retrying", "snoozed", "deferred"):
        when: datetime = datetime.now().astimezone() + timedelta(seconds=outcome.delay)
        message = outcome.error or outcome.reason or kind
        raise Retry(message=f"{kind}: {message}", exc=Exception(message), when=when, is_eager=False)
    if kind == "requeued":
        time.sleep(conf().requeue_delay)  # not a job's wait: no job can be decided meanwhile
        raise Reject(outcome.reason, requeue=True)
    raise Ignore()

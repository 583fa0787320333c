"""One delivery of a job to a worker: claim, arguments, gates, body — one outcome.

1. Claim, in the database: `queued` (or `started` under a lapsed lease, budget left) → `started`
   with a lease token of this execution, renewed by the runtime thread (fenced: see core/leases).
   A copy of a job that is running, finished or cancelled claims nothing and is dropped: the
   database decides. When the database cannot be reached to decide, the message goes back to the
   broker — it is never acked into nothing.
2. Arguments: sensitive ones are decrypted; ones that no longer open fail the job for good.
3. Gates (core/gates.py): a job that may not start yet is deferred, not an attempt.
4. Body, with `current_job()` set: succeeded, Snooze, a retryable error (retrying, after the
   backoff or the provider's capped retry_after), or failed.
Each way out is one `Outcome` (core/outcome.py), written, reported and answered once.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from jobs import telemetry
from jobs.broker import MARKER
from jobs.conf import conf
from jobs.core import gates, leases
from jobs.core.context import JobContext, LeaseLost, RetryRequested, Snooze, _current
from jobs.core.early import early_claim_take
from jobs.core.outcome import Outcome, celery_answer, outcome_write
from jobs.table import clock, rows, transitions
from jobs.table.payload import PayloadError, clean_text, payload_real

# Errors that say "the database is away", not "this job is bad".
UNREACHABLE = (InterfaceError, OperationalError)


class Execution:
    def __init__(self, task: Any, req: Any, args: tuple, kwargs: dict) -> None:
        self.task, self.req, self.args, self.kwargs = task, req, args, kwargs
        self.opts = task.job_options
        self.job_id = str(req.id)
        self.queue = (req.delivery_info or {}).get("routing_key") or self.opts.queue
        self.worker = req.hostname or ""
        self.token = leases.execution_token()
        self.attempt, self.max_attempts, self.deferrals = 1, self.opts.max_attempts, 0
        self.started_at = clock.db_now()
        self.lease_lost = False
        self._secret: str | None = None
        self._paused = False

    def run(self) -> Any:
        if self.req.is_eager:
            return self.task.run(*self.args, **self.kwargs)
        started = time.perf_counter()
        try:
            outcome = self._deliver()
        finally:
            self._release()
        duration = time.perf_counter() - started
        if outcome.kind not in ("requeued", "dropped") and self.lease_lost:
            outcome = Outcome("lease_lost", reason="the job was rescued or cancelled meanwhile")
        try:
            written = outcome_write(self, outcome, duration)
        except Exception as exc:  # the outcome cannot be written: the lease lapses, rescue decides
            if isinstance(exc, UNREACHABLE):
                _reconnect()
            written = False
            outcome = Outcome("requeued", reason=f"outcome not written: {type(exc).__name__}")
        if not written and outcome.kind not in ("requeued", "dropped"):
            outcome = Outcome("lease_lost", reason="the job was rescued or cancelled meanwhile")
        telemetry.delivery_stopped(self, outcome, duration)
        return celery_answer(outcome, self.task)

    # -- the steps ---------------------------------------------------------------------------------
    def _deliver(self) -> Outcome:
        try:
            claimed = self._claim()
        except UNREACHABLE as exc:
            _reconnect()
            return Outcome("requeued", reason=f"database unreachable: {type(exc).__name__}")
        except Exception as exc:  # undecided: back to the broker; a row it did claim, its lease decides
            return Outcome("requeued", reason=f"claim failed: {type(exc).__name__}")
        if isinstance(claimed, Outcome):
            return claimed
        try:
            self._open_arguments()
        except PayloadError as exc:
            return self._error(exc, permanent=True)
        try:
            wait = gates.gates_pass(
                self.task, self.queue, self.job_id, self.token, self.args, self.kwargs, paused=self._paused
            )
        except Exception as exc:  # a gate that raises: a bad setting fails, a Redis error retries
            bad_setting = isinstance(exc, ValueError | TypeError)  # whatever the job's own retry_on
            return self._error(exc, permanent=bad_setting, transient=not bad_setting)
        if wait is not None:
            return Outcome("deferred", delay=wait.delay, reason=wait.reason, waiting_for=wait.waiting_for)
        return self._body()

    def _claim(self) -> Outcome | None:
        early = early_claim_take(self.job_id)  # sent as the message arrived (solo workers)
        got: tuple | None
        if early is not None:
            self.token, now, lease_until, got = early.token, early.now, early.lease_until, early.row
        else:
            now, lease_until = leases.lease_from_now()
            got = transitions.job_claim(
                self.job_id, token=self.token, worker=self.worker, now=now, lease_until=lease_until
            )
        if got is None:
            state = transitions.job_state(self.job_id)
            if state is not None:
                return Outcome("dropped", reason=f"not runnable: {state}")
            if self._published_by_us():
                return Outcome("dropped", reason="no row: pruned or discarded")
            self._adopt()
            got = transitions.job_claim(
                self.job_id, token=self.token, worker=self.worker, now=now, lease_until=lease_until
            )
            if got is None:
                return Outcome("dropped", reason="adopted by another delivery")
        self.attempt, self.max_attempts, self.deferrals, self._secret, self._paused = got
        self.started_at = now
        if self.attempt > 1:  # a retry, or a takeover of a lapsed lease: that one needs its row
            transitions.attempt_lost_record(self.job_id, self.attempt - 1, now)
        leases.holdings().hold_job(self)
        return None

    def _published_by_us(self) -> bool:
        headers = getattr(self.req, "headers", None) or {}
        return bool(headers.get(MARKER) or getattr(self.req, MARKER, None))

    def _adopt(self) -> None:
        """A row for a message the layer did not publish (a plain `send_task`)."""
        row = self.task.job_row(tuple(self.args), dict(self.kwargs), now=timezone.now(), queue=self.queue)
        row |= {"id": uuid.UUID(self.job_id), "state": "queued", "scheduled_at": None}
        try:
            rows.jobs_insert([row])
        except Exception:  # another delivery adopted it first
            pass

    def _open_arguments(self) -> None:
        if self._secret:
            real_args, self.kwargs = payload_real(None, None, self._secret)
            self.args = tuple(real_args)

    def _body(self) -> Outcome:
        ctx = JobContext(
            self.job_id, self.task.name, self.queue, self.attempt, self.max_attempts, self.deferrals, self
        )
        reset = _current.set(ctx)
        telemetry.delivery_started(self)
        try:
            result = self.task.run(*self.args, **self.kwargs)
        except Snooze as snooze:
            seconds = min(snooze.seconds, conf().max_snooze)
            return Outcome("snoozed", delay=seconds, reason=snooze.reason or f"snoozed {seconds:g}s")
        except LeaseLost:
            return Outcome("lease_lost", reason="checkpoint: the lease was lost")
        except Exception as exc:
            return self._error(exc)
        finally:
            _current.reset(reset)
        return Outcome("succeeded", result=_jsonable(result))

    def _error(self, exc: Exception, permanent: bool = False, transient: bool = False) -> Outcome:
        cause = exc.exc if isinstance(exc, RetryRequested) and exc.exc else exc
        error = clean_text(f"{type(cause).__name__}: {cause}", 2000)
        retryable = not permanent and (
            transient or isinstance(exc, RetryRequested) or isinstance(cause, self.opts.retry_on)
        )
        if retryable and self.attempt < self.max_attempts:
            delay = _retry_in(exc, cause, self.opts.backoff.delay(self.attempt))
            return Outcome("retrying", delay=delay, error=error, error_type=type(cause).__name__)
        return Outcome("failed", error=error, error_type=type(cause).__name__)

    def _release(self) -> None:
        leases.holdings().unhold_job(self)
        held = gates.held_keys(self.token)
        failed = gates.gates_release(self.token, held)
        if held:  # a waiter woken by the release is due now: this node's stager moves it at once
            transitions.stager_wake(0.0)
        if failed:
            telemetry.log_event("release_failed", self.task.name, self.job_id, queue=self.queue)


def _reconnect() -> None:
    """Drop this thread's broken connection, so the next delivery connects afresh (Celery's
    Django fixup would keep it for a thousand tasks)."""
    try:
        connection.close()
    except Exception:  # closing a dead connection may itself fail
        pass


def _retry_in(exc: Exception, cause: BaseException, backoff: float) -> float:
    """The provider's word (retry_after) or Celery's countdown, capped; else the backoff."""
    asked = exc.countdown if isinstance(exc, RetryRequested) else getattr(cause, "retry_after", None)
    if asked is None:
        return backoff
    try:
        return max(0.0, min(float(asked), conf().max_retry_after))
    except (TypeError, ValueError):
        return backoff


def _jsonable(value: Any) -> Any:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return clean_text(repr(value), 200)
    if "\\u0000" in text:
        return clean_text(repr(value), 200)
    return value if len(text) <= 10_000 else None


__all__ = ["MARKER", "Execution"]

"""One delivery of a job to a worker: gates, claim, body, outcome.

1. Claim, in the database: `queued` (or `started` under a lapsed lease) → `started` with a lease
   token of this execution, renewed by the runtime thread. A copy of a job that is running,
   finished or cancelled — Redis's redelivery, a relay's second publish — claims nothing and is
   dropped: the database state decides, since Redis claims may be gone.
2. Gates, in Redis (cluster-wide), right before the body so a reserved start is the real start:
   the queue's global limit, the single-flight lease, the rate slot. A job that may not start
   yet is deferred: its row goes back to `scheduled` with a due time and the message is acked —
   it waits in the database, not in a worker's memory, and the wait is not an attempt. Rate
   waits reserve a distinct start per job (one deferral per job).
3. Body, with `current_job()` set. Outcome: succeeded (write-behind), Snooze (scheduled again,
   not an attempt), a retryable error (retrying, due after the backoff or the provider's capped
   retry_after), or failed.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from typing import Any

from celery.exceptions import Ignore
from django.conf import settings
from django.utils import timezone

from jobs import history, store, telemetry
from jobs.context import JobContext, Snooze, _current
from jobs.coordination import coordinator, key
from jobs.models import JobAttempt, JobState
from jobs.options import rate_for
from jobs.payload import clean_text, payload_real
from jobs.queues_state import queue_limit
from jobs.runtime import runtime


class RetryRequested(Exception):
    """Celery's `task.retry()` called from a body, turned into the durable retry path."""

    def __init__(self, countdown: float | None, exc: BaseException | None) -> None:
        self.countdown, self.exc = countdown, exc
        super().__init__(str(exc) if exc else "retry requested")


class Execution:
    def __init__(self, task: Any, req: Any, args: tuple, kwargs: dict) -> None:
        self.task, self.req, self.args, self.kwargs = task, req, args, kwargs
        self.opts = task.job_options
        self.job_id = str(req.id)
        self.queue = (req.delivery_info or {}).get("routing_key") or self.opts.queue
        self.rt = runtime()
        self.token = f"{self.rt.token}:{uuid.uuid4().hex[:12]}"  # per execution: threads and gevent too
        self.held: list[str] = []
        self.attempt, self.max_attempts, self.deferrals = 1, self.opts.max_attempts, 0

    def run(self) -> Any:
        if self.req.is_eager:
            return self._body(eager=True)
        try:
            self._claim()
            self._gates()
            return self._body()
        finally:
            self._release_all()

    # -- gates ------------------------------------------------------------------------------
    def _gates(self) -> None:
        coord, ttl = coordinator(), float(settings.JOBS_LEASE_TTL)
        limit = queue_limit(self.queue)
        if limit:
            slot = key("limit", self.queue)
            if not coord.slot_acquire(slot, self.token, limit, ttl):
                self._defer(_busy_wait(), "queue limit")
            self._hold(slot, ttl)
        if self.opts.single_flight:
            lease = key("single", self.task.name)
            if not coord.lease_acquire(lease, self.token, ttl):
                self._defer(_busy_wait(), "single flight")
            self._hold(lease, ttl)
        rate = rate_for(self.opts, self.task.name, self.args, self.kwargs)
        if rate:
            name, rl = rate
            wait = coord.rate_reserve(key("rate", name), rl.limit, rl.period, self.job_id)
            if wait > 0.005:
                self._defer(wait, "rate limit")

    def _defer(self, delay: float, reason: str) -> None:
        """Back to `scheduled` until `delay` has passed; the attempt is given back."""
        due = timezone.now() + timedelta(seconds=delay)
        store.job_transition(self.job_id, self.token, JobState.SCHEDULED, scheduled_at=due, uncount=True)
        telemetry.log_event(
            "deferred",
            self.task.name,
            self.job_id,
            queue=self.queue,
            countdown=round(delay, 3),
            reason=reason,
        )
        raise Ignore()

    # -- claim ------------------------------------------------------------------------------
    def _claim(self) -> None:
        now = timezone.now()
        lease_until = now + timedelta(seconds=float(settings.JOBS_LEASE_TTL))
        worker = self.req.hostname or ""
        got = store.job_claim(self.job_id, token=self.token, worker=worker, now=now, lease_until=lease_until)
        if got is None:
            self._adopt_or_drop()
            got = store.job_claim(
                self.job_id, token=self.token, worker=worker, now=now, lease_until=lease_until
            )
            if got is None:
                raise Ignore()
        self.attempt, self.max_attempts, self.deferrals, secret = got
        if secret:
            real_args, self.kwargs = payload_real(None, None, secret)
            self.args = tuple(real_args)
        self.started_at = now
        self.rt.hold_job(self.job_id, self.token)

    def _adopt_or_drop(self) -> None:
        """A message with no row (sent by plain `send_task`, or from before the table existed)
        gets one; a message for a job that is not runnable is dropped here."""
        state = store.job_state(self.job_id)
        if state is None:
            from jobs.task import _job_id

            self.task._adopt(_job_id(self.job_id), self.args, self.kwargs, self.queue)
            return
        telemetry.log_event("not_runnable", self.task.name, self.job_id, queue=self.queue, state=state)
        raise Ignore()

    # -- body and outcome ---------------------------------------------------------------------
    def _body(self, eager: bool = False) -> Any:
        ctx = JobContext(
            self.job_id, self.task.name, self.queue, self.attempt, self.max_attempts, self.deferrals
        )
        reset = _current.set(ctx)
        started = time.perf_counter()
        telemetry.log_event("start", self.task.name, self.job_id, queue=self.queue, attempt=self.attempt)
        try:
            result = self.task.run(*self.args, **self.kwargs)
        except Snooze as snooze:
            if eager:
                raise
            self._snooze(snooze, time.perf_counter() - started)
        except Exception as exc:
            if eager or isinstance(exc, Ignore):
                raise
            self._fail(exc, time.perf_counter() - started)
        finally:
            _current.reset(reset)
        duration = time.perf_counter() - started
        if not eager:
            now = timezone.now()
            history.record(
                store.FINISH_SQL,
                store.finish_params(
                    self.job_id, self.token, JobState.SUCCEEDED, now, _jsonable(result), None
                ),
            )
            self._attempt_row(JobAttempt.Outcome.SUCCEEDED, duration)
        telemetry.log_event(
            "finish",
            self.task.name,
            self.job_id,
            queue=self.queue,
            attempt=self.attempt,
            duration=duration,
            outcome="succeeded",
        )
        return result

    def _snooze(self, snooze: Snooze, duration: float) -> None:
        seconds = min(snooze.seconds, float(settings.JOBS_MAX_SNOOZE))
        due = timezone.now() + timedelta(seconds=seconds)
        store.job_transition(self.job_id, self.token, JobState.SCHEDULED, scheduled_at=due, uncount=True)
        self._attempt_row(JobAttempt.Outcome.SNOOZED, duration, snooze.reason or f"snoozed {seconds:g}s")
        telemetry.log_event(
            "snoozed",
            self.task.name,
            self.job_id,
            queue=self.queue,
            attempt=self.attempt,
            countdown=round(seconds, 3),
        )
        raise Ignore()

    def _fail(self, exc: Exception, duration: float) -> None:
        cause = exc.exc if isinstance(exc, RetryRequested) and exc.exc else exc
        error = clean_text(f"{type(cause).__name__}: {cause}", 2000)
        retryable = isinstance(exc, RetryRequested) or isinstance(cause, self.opts.retry_on)
        now = timezone.now()
        # Off the hot path: the attempt row is written before the state that names it, so a
        # failed or retrying job's page always lists the attempt that made it so.
        final = not (retryable and self.attempt < self.max_attempts)
        self._attempt_row(
            JobAttempt.Outcome.FAILED if final else JobAttempt.Outcome.RETRYING, duration, error
        )
        history.flush()
        if not final:
            countdown = _retry_in(exc, cause, self.opts.backoff.delay(self.attempt))
            store.job_transition(
                self.job_id,
                self.token,
                JobState.RETRYING,
                last_error=error,
                scheduled_at=now + timedelta(seconds=countdown),
            )
            telemetry.log_event(
                "retry",
                self.task.name,
                self.job_id,
                queue=self.queue,
                attempt=self.attempt,
                duration=duration,
                outcome="retrying",
                error=type(cause).__name__,
                countdown=round(countdown, 3),
            )
            raise Ignore()
        store.job_transition(self.job_id, self.token, JobState.FAILED, last_error=error, finished_at=now)
        telemetry.log_event(
            "failure",
            self.task.name,
            self.job_id,
            queue=self.queue,
            attempt=self.attempt,
            duration=duration,
            outcome="failed",
            error=type(cause).__name__,
        )
        raise Ignore()

    def _attempt_row(self, outcome: str, duration: float, error: str = "") -> None:
        history.record(
            history.ATTEMPT,
            {
                "job_id": self.job_id,
                "attempt": self.attempt,
                "started_at": self.started_at,
                "finished_at": timezone.now(),
                "duration_ms": round(duration * 1000, 3),
                "worker": (self.req.hostname or "")[:200],
                "outcome": outcome,
                "error": error,
            },
        )

    # -- leases -----------------------------------------------------------------------------
    def _hold(self, k: str, ttl: float) -> None:
        self.held.append(k)
        self.rt.hold(k, ttl, self.token)

    def _release_all(self) -> None:
        self.rt.unhold_job(self.job_id)
        coord = coordinator()
        for k in reversed(self.held):
            self.rt.unhold(k)
            try:
                if k.startswith(key("limit", "")):
                    coord.slot_release(k, self.token)
                else:
                    coord.lease_release(k, self.token)
            except Exception:  # a lease that cannot be released lapses by itself
                telemetry.log_event("release_failed", self.task.name, self.job_id, queue=self.queue)
        self.held.clear()


def _busy_wait() -> float:
    return random.uniform(0.2, 0.6)


def _retry_in(exc: Exception, cause: BaseException, backoff: float) -> float:
    """The provider's word (retry_after) or Celery's countdown, capped; else the backoff."""
    asked = exc.countdown if isinstance(exc, RetryRequested) else getattr(cause, "retry_after", None)
    if asked is None:
        return backoff
    try:
        return max(0.0, min(float(asked), float(settings.JOBS_MAX_RETRY_AFTER)))
    except (TypeError, ValueError):
        return backoff


def _jsonable(value: Any) -> Any:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return clean_text(repr(value), 200)
    if "\\u0000" in text:
        return clean_text(repr(value), 200)
    return value if len(text) <= 10_000 else None

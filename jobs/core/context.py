"""What a running job knows about itself (Procrastinate's job_context), and how it says "later"."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Protocol


class Snooze(Exception):
    """Raise from a job body to run again in `seconds`: the job waits durably (its row in the
    database), frees its worker, and the wait is not counted as an attempt."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        if seconds < 0:
            raise ValueError("Snooze needs a non-negative number of seconds")
        self.seconds = float(seconds)
        self.reason = reason
        super().__init__(f"snoozed for {self.seconds:g}s" + (f": {reason}" if reason else ""))


class RetryRequested(Exception):
    """Celery's `task.retry()` called from a body, turned into the durable retry path."""

    def __init__(self, countdown: float | None, exc: BaseException | None) -> None:
        self.countdown, self.exc = countdown, exc
        super().__init__(str(exc) if exc else "retry requested")


class LeaseLost(Exception):
    """Raised by `current_job().checkpoint()` when this run no longer holds its job: it was
    rescued after a freeze (and may be running elsewhere) or cancelled by an operator."""


class _Holder(Protocol):
    lease_lost: bool


@dataclass(frozen=True)
class JobContext:
    job_id: str
    task: str
    queue: str
    attempt: int
    max_attempts: int
    deferrals: int = 0
    holder: _Holder | None = field(default=None, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        """True on the last attempt: a failure now fails the job for good."""
        return self.attempt >= self.max_attempts

    @property
    def lease_lost(self) -> bool:
        """True once the job table says this run no longer holds the job (seen at the next lease
        renewal, every JOBS_LEASE_TTL/3 seconds): stop, and do nothing more that shows outside."""
        return bool(self.holder is not None and self.holder.lease_lost)

    def checkpoint(self) -> None:
        """A cooperative stop: raise LeaseLost if this run lost its job (call it between side
        effects; the run's outcome is then recorded by nobody, as it should be)."""
        if self.lease_lost:
            raise LeaseLost(f"job {self.job_id}: the lease was lost")


_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("jobs_current", default=None)


def current_job() -> JobContext | None:
    """The job this code runs in (None outside a job): attempt, max_attempts, is_final."""
    return _current.get()

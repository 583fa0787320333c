"""What a running job knows about itself (Procrastinate's job_context), and how it says "later"."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


class Snooze(Exception):
    """Raise from a job body to run again in `seconds`: the job waits durably (its row in the
    database), frees its worker, and the wait is not counted as an attempt."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        if seconds < 0:
            raise ValueError("Snooze needs a non-negative number of seconds")
        self.seconds = float(seconds)
        self.reason = reason
        super().__init__(f"snoozed for {self.seconds:g}s" + (f": {reason}" if reason else ""))


@dataclass(frozen=True)
class JobContext:
    job_id: str
    task: str
    queue: str
    attempt: int
    max_attempts: int
    deferrals: int = 0

    @property
    def is_final(self) -> bool:
        """True on the last attempt: a failure now fails the job for good."""
        return self.attempt >= self.max_attempts


_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("jobs_current", default=None)


def current_job() -> JobContext | None:
    """The job this code runs in (None outside a job): attempt, max_attempts, is_final."""
    return _current.get()

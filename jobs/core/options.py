"""The options a job declares, parsed and checked once when the task is defined."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([smh]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class RateLimit:
    limit: int
    period: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """'100/60s' -> 100 per 60 seconds; '10/s', '5/2m' and '30/1h' work too."""
        m = _RATE.match(text or "")
        if not m or int(m.group(1)) < 1:
            raise ValueError(f"rate limit {text!r} is not of the form '100/60s'")
        period = float(m.group(2) or 1) * _UNIT[m.group(3)]
        if period <= 0:
            raise ValueError(f"rate limit {text!r} has a zero period")
        return cls(int(m.group(1)), period)

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}s"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped: attempt n waits up to base * 2**(n-1)."""

    base: float = 2.0
    cap: float = 600.0
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(attempt - 1, 0)))
        if not self.jitter:
            return ceiling
        # Half fixed, half random: delays still grow with each attempt but never align.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class JobOptions:
    queue: str = "default"
    max_attempts: int = 1
    backoff: Backoff = field(default_factory=Backoff)
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    unique_for: float | None = None
    unique_on: tuple[str, ...] | None = None
    # Let the key go when the job ends (succeeded or failed for good), not only when unique_for
    # runs out: "at most one waiting or running", like Oban's unique states.
    unique_until_done: bool = False
    # A RateLimit, or a callable(*args, **kwargs) -> (key, "100/60s") | None for limits that
    # depend on the job (queue_handlers: one limit per job type, from settings).
    rate_limit: RateLimit | Callable[..., tuple[str, str] | None] | None = None
    rate_key: str | None = None
    single_flight: bool = False
    priority: int | None = None
    sensitive: tuple[str, ...] = ()
    # A poll (runs every few seconds, usually finds nothing): its succeeded runs that did no work
    # are hidden from the console's lists and charts and pruned after JOBS_NOOP_KEEP_SECONDS.
    poll: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.unique_for is not None and self.unique_for <= 0:
            raise ValueError("unique_for must be a positive number of seconds")
        if self.priority is not None and not 0 <= self.priority <= 9:
            raise ValueError("priority must be between 0 and 9")


def rate_for(opts: JobOptions, name: str, args: tuple, kwargs: dict) -> tuple[str, RateLimit] | None:
    """The (key, limit) that applies to this job, if any."""
    if opts.rate_limit is None:
        return None
    if isinstance(opts.rate_limit, RateLimit):
        return opts.rate_key or name, opts.rate_limit
    chosen = opts.rate_limit(*args, **kwargs)
    if chosen is None:
        return None
    return chosen[0], RateLimit.parse(chosen[1])

"""`@job(...)`: declare a Celery task with Oban's options."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from celery import shared_task

from jobs.core.options import Backoff, JobOptions, RateLimit


def job(
    *,
    queue: str = "default",
    max_attempts: int = 1,
    backoff: Backoff | tuple[float, float] | None = None,
    retry_on: Iterable[type[BaseException]] = (Exception,),
    unique_for: float | None = None,
    unique_on: Iterable[str] | None = None,
    unique_until_done: bool = False,
    rate_limit: str | Callable[..., tuple[str, str] | None] | None = None,
    rate_key: str | None = None,
    single_flight: bool = False,
    priority: int | None = None,
    sensitive: Iterable[str] = (),
    poll: bool = False,
    name: str | None = None,
    **celery_options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Make a task that records its history and honours the options cluster-wide.

    - max_attempts / backoff / retry_on: retries only what is named, exponential with jitter.
    - unique_for (s) / unique_on (kwarg names): a second enqueue returns the first job;
      unique_until_done frees the key as soon as the job has ended.
    - rate_limit "100/60s": starts per window across every worker; extra jobs wait their turn.
      rate_key shares one limit between several tasks.
    - single_flight: at most one running in the cluster; the others wait.
    - sensitive: kwarg names shown as "[filtered]" in the history.
    - poll: a frequent poll; its runs that did nothing are hidden from the console and pruned soon.

    `task.enqueue(...)` returns `Enqueued(job_id, state, duplicate)`; `delay`/`apply_async`
    go the same way, so beat and Flower's enqueues are recorded too.
    """
    from jobs.core.task import JobTask  # at decoration: `from jobs import job` may run before models load

    if isinstance(backoff, tuple):
        backoff = Backoff(base=backoff[0], cap=backoff[1])
    options = JobOptions(
        queue=queue,
        max_attempts=max_attempts,
        backoff=backoff or Backoff(),
        retry_on=tuple(retry_on),
        unique_for=unique_for,
        unique_on=tuple(unique_on) if unique_on is not None else None,
        unique_until_done=unique_until_done,
        rate_limit=RateLimit.parse(rate_limit) if isinstance(rate_limit, str) else rate_limit,
        rate_key=rate_key,
        single_flight=single_flight,
        priority=priority,
        sensitive=tuple(sensitive),
        poll=poll,
    )

    def wrap(fn: Callable[..., Any]) -> Any:
        named = {"name": name} if name else {}
        make: Any = shared_task  # celery-types knows no custom task options such as job_options
        return make(base=JobTask, job_options=options, queue=queue, **named, **celery_options)(fn)

    return wrap

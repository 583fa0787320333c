"""Testing apps built on jobs, as Oban.Testing's `testing: :manual` (seeds 001 and 003).

    from jobs.testing import manual, assert_enqueued, refute_enqueued, all_enqueued, drain

    def test_signup_sends_a_welcome(db):
        with manual():
            signup(email="a@example.com")
            assert_enqueued(welcome_email_task, user_id=1)
            assert drain("emails") == {"succeeded": 1}

In manual mode an enqueue writes its job row as always and publishes nothing; `drain` then runs
the waiting jobs of a queue in this process through the real execution path — the claim on the
row, retries with their attempts, Snooze, unique keys — with an in-memory coordinator standing
in for Redis, so such a test needs the database and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs import coordination
from jobs.broker import publish
from jobs.coordination.memory import MemoryCoordinator
from jobs.models import FINISHED_STATES, Job, JobState
from jobs.table import history
from jobs.table.payload import payload_real

WAITING = (JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING)


@contextmanager
def manual() -> Iterator[None]:
    """Enqueued jobs are recorded, not published; drain() runs them."""
    token = publish.MANUAL.set(True)
    try:
        yield
    finally:
        publish.MANUAL.reset(token)


def all_enqueued(*, task: Any = None, queue: str | None = None, **kwargs: Any) -> list[Job]:
    """Waiting jobs (queued, scheduled, retrying), oldest first, that match."""
    return [job for job in _waiting(task, queue) if _matches(job, kwargs)]


def assert_enqueued(task: Any, **kwargs: Any) -> Job:
    found = all_enqueued(task=task, **kwargs)
    if not found:
        waiting = [(j.task, j.kwargs) for j in _waiting(task, None)[:5]]
        raise AssertionError(f"no waiting {_name(task)} job with {kwargs!r}; waiting: {waiting!r}")
    return found[0]


def refute_enqueued(task: Any, **kwargs: Any) -> None:
    found = all_enqueued(task=task, **kwargs)
    if found:
        raise AssertionError(f"{len(found)} waiting {_name(task)} job(s) with {kwargs!r}")


def drain(queue: str | None = None, *, with_scheduled: bool = True, limit: int = 1000) -> dict[str, int]:
    """Run the waiting jobs of `queue` (every queue when None) until none is left, including
    those they enqueue; scheduled and retrying ones count as due unless with_scheduled=False.
    Returns how the runs ended: {"succeeded": n, "failed": n, "retrying": n, "snoozed": n}."""
    outcomes: Counter[str] = Counter()
    try:
        with coordination.use_coordinator(MemoryCoordinator()):
            for _ in range(limit):
                job = _next(queue, with_scheduled)
                if job is None:
                    break
                outcomes[_run(job)] += 1
    finally:
        history.flush()
    return dict(outcomes)


def _next(queue: str | None, with_scheduled: bool) -> Job | None:
    qs = Job.objects.filter(state__in=WAITING)
    if queue:
        qs = qs.filter(queue=queue)
    if not with_scheduled:
        qs = qs.exclude(state__in=(JobState.SCHEDULED, JobState.RETRYING), scheduled_at__gt=timezone.now())
    # In the order they fall due: a queued job (no scheduled_at) at its enqueue time, so one due in
    # an hour, or one snoozing again and again, never runs ahead of work queued before it.
    job = qs.order_by(Coalesce("scheduled_at", "enqueued_at"), "enqueued_at").first()
    if job is not None and job.state != JobState.QUEUED:
        Job.objects.filter(pk=job.pk, state=job.state).update(state=JobState.QUEUED)
    return job


def _run(job: Job) -> str:
    task = current_app.tasks[job.task]
    args, kwargs = payload_real(job.args, job.kwargs, None)
    attempt_before = job.attempt
    task.push_request(
        id=str(job.id),
        delivery_info={"routing_key": job.queue},
        hostname="drain@testing",
        is_eager=False,
        called_directly=False,
    )
    try:
        task(*args, **kwargs)
    except Exception:  # Ignore (deferred, retrying, snoozed) or failed for good: the row says which
        pass
    finally:
        task.pop_request()
        history.flush()
    job.refresh_from_db()
    if job.state in FINISHED_STATES:
        return str(job.state)
    if job.state == JobState.RETRYING:
        return "retrying"
    return "snoozed" if job.attempt == attempt_before else "deferred"


def _waiting(task: Any, queue: str | None) -> list[Job]:
    qs: QuerySet[Job] = Job.objects.filter(state__in=WAITING).order_by("enqueued_at")
    if task is not None:
        qs = qs.filter(task=_name(task))
    if queue:
        qs = qs.filter(queue=queue)
    return list(qs)


def _matches(job: Job, wanted: dict[str, Any]) -> bool:
    if not wanted:
        return True
    _args, real = payload_real(job.args, job.kwargs, job.secret_payload)
    return all(real.get(k) == v for k, v in wanted.items())


def _name(task: Any) -> str:
    return task if isinstance(task, str) else task.name

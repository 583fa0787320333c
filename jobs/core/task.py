"""JobTask: a Celery task whose every accepted job is a row in the job table.

Enqueue (`enqueue`, `apply_async`, so `delay`, beat and Flower too) writes the row — inside the
caller's transaction when there is one — and publishes after commit (jobs.core.handoff); a
publish that fails is left to the relay (jobs.plugins.reconciler), so enqueue returns even with
the broker down. Execution lives in jobs.core.execution.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.utils import timezone

from jobs import telemetry
from jobs.broker.queues import declared_queues, queue_declared
from jobs.core.context import RetryRequested
from jobs.core.execution import Execution
from jobs.core.handoff import jobs_store
from jobs.core.options import JobOptions
from jobs.models import JobState
from jobs.table.payload import payload_build
from jobs.table.rows import new_ids, unique_holder, unique_lock


class UnknownQueue(ValueError):
    """A job for a queue Celery does not declare: no worker would ever consume it (and a name
    such as "a/b" would break the console's links), so it is refused before anything is stored."""


@dataclass(frozen=True)
class Enqueued:
    """What an enqueue returns: the job's id, its state, and whether it was a duplicate."""

    job_id: str
    state: str
    duplicate: bool = False


class JobTask(Task):
    job_options: JobOptions = JobOptions()
    # What a job is, for people: a string, or a callable(*args, **kwargs) -> str evaluated at
    # enqueue (`@job(display=lambda job_type, **kw: f"handler:{job_type}")`); stored in the
    # row's display_name and shown by the list, the dashboard and search. Build it from values
    # the history shows anyway (never a secret).
    display: Any = None
    ignore_result = True  # outcomes live in the job table, read by jobs.core.results
    # The message is acked after the delivery is decided, whatever the project's Celery settings
    # say: a delivery whose claim cannot reach the database goes back to the broker (Reject with
    # requeue, a no-op on an early-acked message), and one whose worker died is redelivered.
    acks_late = True
    reject_on_worker_lost = True
    typing = False  # Celery's own argument check; ours runs at enqueue before anything is stored

    # -- enqueue ---------------------------------------------------------------------------
    def enqueue(self, *args: Any, countdown: float | None = None, **kwargs: Any) -> Enqueued:
        return self.enqueue_with(args, kwargs, countdown=countdown)

    def enqueue_with(self, args: Any, kwargs: Any, **options: Any) -> Enqueued:
        """`apply_async`'s options (queue, priority, eta, countdown, task_id, max_attempts)
        without Celery's AsyncResult, which nobody reads here and costs ~7 µs per enqueue.
        In eager mode the job runs inline and its Enqueued says how it ended."""
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        if self.request.is_eager or current_app.conf.task_always_eager:
            done = self.apply_async(args, kwargs, **options)
            return Enqueued(str(done.id), str(JobState.SUCCEEDED if done.successful() else JobState.FAILED))
        return self._enqueue(args, kwargs, **options)

    def enqueue_many(self, kwargs_list: list[dict[str, Any]], **options: Any) -> list[Enqueued]:
        """One INSERT for all of them, then one publish (on Redis one LPUSH per list and
        thousand); outside a transaction the messages are built while PostgreSQL inserts."""
        fixed = self.row_options(options, timezone.now())  # checked once for the batch
        ids = new_ids(len(kwargs_list))
        rows = [self.row_for(fixed, (), kw, job_id) for kw, job_id in zip(kwargs_list, ids, strict=True)]
        if any(r["unique_key"] for r in rows):
            return [self.enqueue_with((), kw, **options) for kw in kwargs_list]
        jobs_store(rows)
        return [Enqueued(str(r["id"]), r["state"]) for r in rows]

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: Any = None,
        **options: Any,
    ) -> Any:
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        if self.request.is_eager or current_app.conf.task_always_eager:
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        if link or link_error or options.get("chain"):
            # A callback would live only in a broker message, never in the job's row.
            raise TypeError(
                f"{self.name}: job tasks take no Celery callbacks; enqueue the next job from the body"
            )
        return _result(self._enqueue(args, kwargs, task_id=task_id, **options))

    def _enqueue(
        self, args: tuple, kwargs: dict[str, Any], task_id: str | None = None, **options: Any
    ) -> Enqueued:
        now = timezone.now()
        row = self.job_row(args, kwargs, now=now, task_id=task_id, **options)
        if row["unique_key"]:
            with transaction.atomic():  # the holder check and the insert under one lock
                holder = self._unique_holder(row, now)
                if holder is not None:
                    telemetry.log_event("duplicate", self.name, holder[0], queue=row["queue"])
                    return Enqueued(holder[0], str(holder[1]), duplicate=True)
                jobs_store([row])  # published when this block commits
        else:
            jobs_store([row])  # in the caller's transaction, or committed at once
        return Enqueued(str(row["id"]), str(row["state"]))

    def job_row(
        self,
        args: tuple,
        kwargs: dict[str, Any],
        *,
        now: datetime,
        task_id: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        return self.row_for(self.row_options(options, now), args, kwargs, _job_id(task_id))

    def row_options(self, options: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The row's fields that come from the enqueue's options (checked here), not its arguments."""
        opts = self.job_options
        delay = _delay(options.get("countdown"), options.get("eta"), now)
        priority = options.get("priority", opts.priority)
        if priority is not None and not 0 <= int(priority) <= 9:
            raise ValueError(f"{self.name}: priority {priority!r} is not 0 (most urgent) to 9 (least)")
        max_attempts = int(options.get("max_attempts") or opts.max_attempts)
        if max_attempts < 1:
            raise ValueError(f"{self.name}: max_attempts {max_attempts!r} is below 1")
        queue = options.get("queue") or opts.queue
        queue = getattr(queue, "name", queue)  # a kombu Queue (Celery's routing may pass one)
        if not queue_declared(queue):
            raise UnknownQueue(
                f"{self.name}: unknown queue {queue!r}; declared queues are {', '.join(declared_queues())}"
            )
        return {
            "task": self.name,
            "queue": queue,
            "state": JobState.SCHEDULED if delay > 0 else JobState.QUEUED,
            "max_attempts": max_attempts,
            "priority": priority,
            "enqueued_at": now,
            "scheduled_at": now + timedelta(seconds=delay) if delay > 0 else None,
            "retry_of": options.get("retry_of"),
        }

    def row_for(
        self, fixed: dict[str, Any], args: tuple, kwargs: dict[str, Any], job_id: uuid.UUID | str
    ) -> dict:
        """One job's row: `fixed` (row_options) and what its arguments make."""
        self.type_check(args, kwargs)
        payload = payload_build(args, kwargs, self.job_options.sensitive)
        return fixed | {
            "id": job_id,
            "display_name": self.display_name(args, kwargs),
            "args": payload.shown_args,
            "kwargs": payload.shown_kwargs,
            "secret_payload": payload.secret,
            "unique_key": self.unique_key(args, kwargs) if self.job_options.unique_for else None,
        }

    def display_name(self, args: tuple, kwargs: dict[str, Any]) -> str | None:
        """The row's display name; a display callable that fails costs the name, not the job."""
        display = getattr(type(self), "display", None)  # the plain function, not bound to the task
        if display is None:
            return None
        try:
            name = display(*args, **kwargs) if callable(display) else display
        except Exception as exc:
            telemetry.log_event("display_failed", self.name, "", error=type(exc).__name__)
            return None
        return str(name)[:200] if name else None

    def _unique_holder(self, row: dict[str, Any], now: datetime) -> tuple[str, str] | None:
        opts = self.job_options
        unique_lock(row["unique_key"])
        since = now - timedelta(seconds=float(opts.unique_for or 0))
        return unique_holder(row["unique_key"], since, opts.unique_until_done)

    def type_check(self, args: tuple, kwargs: dict) -> None:
        """Refuse wrong arguments at enqueue, before anything is recorded or queued.

        Binding checks only how many positional arguments there are and which names the keyword
        ones have, never their values, so a shape that bound once is remembered (~10 µs a job)."""
        shape = (len(args), *kwargs)
        fits = self.__dict__.setdefault("_jobs_shapes", set())
        if shape in fits:
            return
        try:
            self._signature().bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        if len(fits) < 256:
            fits.add(shape)

    def unique_key(self, args: tuple, kwargs: dict) -> str:
        """sha256 of the task name and the chosen arguments, positional ones bound to their names."""
        bound = self._signature().bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        on = self.job_options.unique_on
        chosen = {k: named.get(k) for k in on} if on is not None else named
        raw = json.dumps([self.name, chosen], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    def _signature(self) -> inspect.Signature:
        sig = self.__dict__.get("_jobs_signature")
        if sig is None:
            sig = self.__dict__["_jobs_signature"] = inspect.signature(self.run)
        return sig

    def retry(
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: BaseException | None = None,
        throw: bool = True,
        eta: Any = None,
        countdown: float | None = None,
        max_retries: int | None = None,
        **options: Any,
    ) -> Any:
        """Celery's `self.retry(...)` from a body: the durable retry path, counted as an attempt."""
        raise RetryRequested(countdown, exc)

    # -- execution --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        req = self.request
        if req.called_directly:
            return self.run(*args, **kwargs)
        return Execution(self, req, args, kwargs).run()


def _job_id(task_id: str | None) -> uuid.UUID:
    """A UUID (the table's key); another id (Flower's apply can pass one) maps to a stable UUID."""
    if not task_id:
        return uuid.uuid4()
    try:
        return uuid.UUID(str(task_id))
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"jobs:{task_id}")


def _delay(countdown: float | None, eta: Any, now: datetime) -> float:
    if eta is not None:
        if isinstance(eta, str):
            eta = datetime.fromisoformat(eta)
        return max((eta - now).total_seconds(), 0.0)
    return max(float(countdown or 0), 0.0)


def _result(enqueued: Enqueued) -> Any:
    """Celery's AsyncResult for `apply_async`/`delay` callers, carrying the Enqueued."""
    res: Any = current_app.AsyncResult(enqueued.job_id)
    res.enqueued = enqueued
    return res


def enqueue_many(task: JobTask, kwargs_list: list[dict[str, Any]], **options: Any) -> list[Enqueued]:
    """Enqueue one job per kwargs dict: one INSERT, one producer (`task.enqueue_many` is the same)."""
    return task.enqueue_many(kwargs_list, **options)

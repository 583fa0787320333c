"""JobTask: a Celery task with Oban's guarantees.

Enqueue (`apply_async`) checks uniqueness and records the job. Execution (`__call__`) claims
the delivery (so a redelivered copy never runs twice), takes the single-flight lease and a
rate-limit slot, and runs the body; a job that may not run yet waits in the scheduled set, not in
a worker's memory (celery #3270), and is not counted as an attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from celery import Task, current_app
from celery.exceptions import Ignore, Retry
from django.conf import settings
from django.utils import timezone

from jobs import history, telemetry
from jobs.context import JobContext, Snooze, _current
from jobs.coordination import CLAIM_CANCELLED, CLAIM_DONE, CLAIM_OK, coordinator, key
from jobs.models import JobState
from jobs.options import JobOptions, rate_for
from jobs.runtime import runtime

logger = logging.getLogger("jobs")
SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "authorization")
DEFERRALS_HEADER = "jobs_deferrals"


@dataclass(frozen=True)
class Enqueued:
    """What an enqueue returns: the job's id, its state, and whether it was a duplicate."""

    job_id: str
    state: str
    duplicate: bool = False


def filter_args(value: Any, sensitive: tuple[str, ...] = ()) -> Any:
    """Job arguments as the history shows them: secrets by name replaced with a marker."""
    if isinstance(value, dict):
        return {
            k: "[filtered]"
            if k in sensitive or any(w in str(k).lower() for w in SENSITIVE_WORDS)
            else filter_args(v, sensitive)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [filter_args(v, sensitive) for v in value]
    return value


class JobTask(Task):
    job_options: JobOptions = JobOptions()
    ignore_result = True  # the job history holds outcomes; no django-celery-results row per job
    typing = False  # Celery's own argument check; ours runs in apply_async before anything else

    # -- enqueue ---------------------------------------------------------------------------
    def enqueue(self, *args: Any, countdown: float | None = None, **kwargs: Any) -> Enqueued:
        result = self.apply_async(args, kwargs, countdown=countdown)
        return result.enqueued

    def apply_async(
        self,
        args=None,
        kwargs=None,
        task_id=None,
        producer=None,
        link=None,
        link_error=None,
        shadow=None,
        **options,
    ):
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        # What Flower, events and Celery's logs show instead of the arguments themselves.
        options.update(_reprs(args, kwargs, self.job_options.sensitive))
        if options.get("retries"):  # Celery's own retry of a running job: already recorded
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        self.type_check(args, kwargs)
        retry_of = options.pop("retry_of", None)
        opts = self.job_options
        job_id = task_id or str(uuid.uuid4())
        unique_key = None
        if opts.unique_for:
            unique_key = self.unique_key(args, kwargs)
            holder = coordinator().unique_acquire(key("unique", unique_key), job_id, opts.unique_for)
            if holder is not None:
                telemetry.log_event("duplicate", self.name, holder, queue=self.queue_name)
                return _result(holder, JobState.QUEUED, duplicate=True)
        delay = _delay(options.pop("countdown", None), options.pop("eta", None))
        options.setdefault("queue", opts.queue)
        if opts.priority is not None:
            options.setdefault("priority", opts.priority)
        state = JobState.SCHEDULED if delay > 0 else JobState.QUEUED
        try:
            if delay > 0:
                payload = _payload(self.name, job_id, args, kwargs, options)
                coordinator().schedule(job_id, delay, payload)
            else:
                super().apply_async(args, kwargs, job_id, producer, link, link_error, shadow, **options)
        except Exception:
            # Nothing was queued: no history row, and the unique window is free again.
            if unique_key:
                coordinator().unique_release(key("unique", unique_key), job_id)
            raise
        now = timezone.now()
        self._record(
            job_id,
            state,
            1,
            0,
            args=filter_args(list(args), opts.sensitive),
            kwargs=filter_args(kwargs, opts.sensitive),
            enqueued_at=now,
            scheduled_at=now + timezone.timedelta(seconds=delay) if delay else None,
            unique_key=unique_key,
            priority=options.get("priority"),
            queue=options["queue"],
            retry_of=retry_of,
        )
        return _result(job_id, state)

    def enqueue_many(self, kwargs_list: list[dict[str, Any]]) -> list[Enqueued]:
        return [self.enqueue(**kw) for kw in kwargs_list]

    def type_check(self, args: tuple, kwargs: dict) -> None:
        """Refuse wrong arguments at enqueue, before anything is recorded or queued."""
        check = getattr(self, "__header__", None)
        if check is None:
            return
        try:
            check(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None

    def unique_key(self, args: tuple, kwargs: dict) -> str:
        """sha256 of the task name and the chosen arguments: no argument value in Redis keys."""
        on = self.job_options.unique_on
        chosen = {k: kwargs.get(k) for k in on} if on is not None else {"a": args, "k": kwargs}
        raw = json.dumps([self.name, chosen], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    # -- execution --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        req = self.request
        if req.called_directly:
            return self.run(*args, **kwargs)
        return Execution(self, req, args, kwargs).run()

    def _record(self, job_id: str, state: str, attempt: int, deferrals: int, **fields: Any) -> None:
        fields.setdefault("queue", self.job_options.queue)
        history.record_state(
            job_id=job_id,
            task=self.name,
            state=state,
            attempt=attempt,
            max_attempts=self.job_options.max_attempts,
            deferrals=deferrals,
            **fields,
        )

    @property
    def queue_name(self) -> str:
        return self.job_options.queue


class Execution:
    """One delivery of a job to a worker."""

    def __init__(self, task: JobTask, req: Any, args: tuple, kwargs: dict) -> None:
        self.task, self.req, self.args, self.kwargs = task, req, args, kwargs
        self.opts = task.job_options
        self.job_id = req.id
        self.attempt = (req.retries or 0) + 1
        self.deferrals = int(getattr(req, DEFERRALS_HEADER, None) or 0)
        self.queue = (req.delivery_info or {}).get("routing_key") or self.opts.queue
        self.delivery = str(self.attempt)
        self.rt = runtime()
        self.held: list[str] = []

    def run(self) -> Any:
        if self.req.is_eager:
            return self._body()
        coord, ttl = coordinator(), float(settings.JOBS_LEASE_TTL)
        verdict = coord.claim(self.job_id, self.delivery, self.rt.token, ttl)
        if verdict == CLAIM_CANCELLED:
            self._record(JobState.CANCELLED, finished_at=timezone.now())
            raise Ignore()
        if verdict == CLAIM_DONE:
            telemetry.log_event("redelivered_done", self.task.name, self.job_id, queue=self.queue)
            raise Ignore()
        claim_key = key("claim", self.job_id, self.delivery)
        if verdict != CLAIM_OK:  # running elsewhere: look again when its lease would have lapsed
            self._defer(ttl, count=False)
        self._hold(claim_key, ttl)
        try:
            if self.opts.single_flight:
                sf_key = key("single", self.task.name)
                if not coord.lease_acquire(sf_key, self.rt.token, ttl):
                    self._defer(min(0.1 * 2 ** min(self.deferrals, 5), 2.0) * random.uniform(1, 1.5))
                self._hold(sf_key, ttl)
            rate = rate_for(self.opts, self.task.name, self.args, self.kwargs)
            if rate:
                name, rl = rate
                member = f"{self.job_id}:{self.delivery}:{self.deferrals}"
                wait = coord.rate_take(key("rate", name), rl.limit, rl.period, member)
                if wait > 0:
                    self._defer(wait + 0.05 + random.uniform(0, rl.period / rl.limit))
            result = self._body()
            coord.claim_done(self.job_id, self.delivery)
            self._release_unique()
            return result
        finally:
            self._release_all()

    def _release_unique(self) -> None:
        if self.opts.unique_for and self.opts.unique_until_done:
            k = key("unique", self.task.unique_key(self.args, self.kwargs))
            coordinator().unique_release(k, self.job_id)

    def _body(self) -> Any:
        self._record(JobState.STARTED, started_at=timezone.now(), worker=self.req.hostname or "")
        started = time.perf_counter()
        telemetry.log_event("start", self.task.name, self.job_id, queue=self.queue, attempt=self.attempt)
        ctx = JobContext(
            self.job_id, self.task.name, self.queue, self.attempt, self.opts.max_attempts, self.deferrals
        )
        token = _current.set(ctx)
        try:
            result = self.task.run(*self.args, **self.kwargs)
        except Snooze as snooze:
            if self.req.is_eager:
                raise
            self._defer(snooze.seconds)
        except Exception as exc:
            self._fail(exc, time.perf_counter() - started)
            raise
        finally:
            _current.reset(token)
        duration = time.perf_counter() - started
        self._record(JobState.SUCCEEDED, finished_at=timezone.now(), result=_jsonable(result))
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

    def _fail(self, exc: Exception, duration: float) -> None:
        if isinstance(exc, Ignore | Retry):  # the body asked Celery for this itself
            return
        error = f"{type(exc).__name__}: {exc}"[:2000]
        retryable = isinstance(exc, self.opts.retry_on)
        if retryable and self.attempt < self.opts.max_attempts and not self.req.is_eager:
            # A provider may say when to come back (Slack's Retry-After): honour it.
            retry_after = getattr(exc, "retry_after", None)
            countdown = float(retry_after) if retry_after else self.opts.backoff.delay(self.attempt)
            self._record(JobState.RETRYING, last_error=error)
            coordinator().claim_done(self.job_id, self.delivery)
            telemetry.log_event(
                "retry",
                self.task.name,
                self.job_id,
                queue=self.queue,
                attempt=self.attempt,
                duration=duration,
                outcome="retrying",
                error=type(exc).__name__,
                countdown=round(countdown, 3),
            )
            raise self.task.retry(
                exc=exc, countdown=countdown, max_retries=self.opts.max_attempts - 1
            ) from exc
        self._record(JobState.FAILED, last_error=error, finished_at=timezone.now())
        if not self.req.is_eager:
            coordinator().claim_done(self.job_id, self.delivery)
            self._release_unique()
        telemetry.log_event(
            "failure",
            self.task.name,
            self.job_id,
            queue=self.queue,
            attempt=self.attempt,
            duration=duration,
            outcome="failed",
            error=type(exc).__name__,
        )

    def _defer(self, delay: float, count: bool = True) -> None:
        """Wait in the scheduled set (not in this worker) and run again later: not an attempt."""
        deferrals = self.deferrals + (1 if count else 0)
        options = {
            "queue": self.queue,
            "retries": self.attempt - 1,
            "headers": {DEFERRALS_HEADER: deferrals},
            **_reprs(self.args, self.kwargs, self.opts.sensitive),
        }
        if self.req.delivery_info and self.req.delivery_info.get("priority") is not None:
            options["priority"] = self.req.delivery_info["priority"]
        payload = _payload(self.task.name, self.job_id, self.args, self.kwargs, options)
        coordinator().schedule(self.job_id, delay, payload)
        if count:
            self.deferrals = deferrals
            self._record(JobState.SCHEDULED, scheduled_at=timezone.now() + timezone.timedelta(seconds=delay))
        telemetry.log_event(
            "deferred",
            self.task.name,
            self.job_id,
            queue=self.queue,
            attempt=self.attempt,
            countdown=round(delay, 3),
        )
        raise Ignore()

    def _hold(self, k: str, ttl: float) -> None:
        self.held.append(k)
        self.rt.hold(k, ttl)

    def _release_all(self) -> None:
        coord = coordinator()
        for k in reversed(self.held):
            self.rt.unhold(k)
            if k.startswith(key("claim", "")):
                coord.claim_release(self.job_id, self.delivery, self.rt.token)
            else:
                coord.lease_release(k, self.rt.token)
        self.held.clear()

    def _record(self, state: str, **fields: Any) -> None:
        fields.setdefault("queue", self.queue)
        self.task._record(self.job_id, state, self.attempt, self.deferrals, **fields)


def publish_scheduled(payload: dict) -> None:
    """Put a job whose time has come on its queue (called by the runtime's mover)."""
    opts = dict(payload["options"])
    current_app.send_task(
        payload["task"], args=payload["args"], kwargs=payload["kwargs"], task_id=payload["id"], **opts
    )


def _payload(name: str, job_id: str, args: tuple, kwargs: dict, options: dict) -> dict:
    keep = {
        k: v
        for k, v in options.items()
        if k in ("queue", "priority", "retries", "headers", "argsrepr", "kwargsrepr")
    }
    return {"task": name, "id": job_id, "args": list(args), "kwargs": kwargs, "options": keep}


def _reprs(args: tuple, kwargs: dict, sensitive: tuple[str, ...]) -> dict[str, str]:
    return {
        "argsrepr": repr(filter_args(list(args), sensitive)),
        "kwargsrepr": repr(filter_args(kwargs, sensitive)),
    }


def _delay(countdown: float | None, eta: Any) -> float:
    if eta is not None:
        return max((eta - timezone.now()).total_seconds(), 0.0)
    return max(float(countdown or 0), 0.0)


def _jsonable(value: Any) -> Any:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    return value if len(text) <= 10_000 else None


def _result(job_id: str, state: str, duplicate: bool = False):
    res = current_app.AsyncResult(job_id)
    res.enqueued = Enqueued(job_id=job_id, state=str(state), duplicate=duplicate)
    return res


def enqueue_many(task: JobTask, kwargs_list: list[dict[str, Any]]) -> list[Enqueued]:
    """Enqueue one job per kwargs dict (`task.enqueue_many(...)` is the same)."""
    return task.enqueue_many(kwargs_list)

"""Enqueue handler jobs, run them, prune what they leave behind.

`enqueue_job` refuses an unknown type or an invalid payload before anything is stored or
queued. The payload is kept in a HandlerJob row (it may hold PII); the one dispatch task
(queue_handlers.tasks.handler_job_task) carries only the job type and that row's id.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from jobs import FINISHED_STATES, Enqueued, JobState
from jobs import Job as JobRecord
from queue_handlers.base import (
    InvalidPayload,
    Job,
    PermanentJobError,
    RetriesExhausted,
    RetryJob,
)
from queue_handlers.models import HandlerJob
from queue_handlers.registry import get_handler_class

logger = logging.getLogger("queue_handlers")


def enqueue_job(
    job_type: str, payload: dict[str, Any], *, countdown: float | None = None, priority: int | None = None
) -> Enqueued:
    """Validate and queue one job; returns its id (the jobs.Job id) and state.

    Raises UnknownJobType or InvalidPayload with a message fit for the caller; then nothing
    is stored and nothing is queued. Inside a transaction the job is published on commit, so a
    rolled-back caller leaves no job behind.
    """
    cls = get_handler_class(job_type)
    cls().validate_payload(payload)
    _check_size(job_type, payload)
    if priority is not None and not 0 <= priority <= 9:
        raise ValueError("priority must be between 0 and 9")
    job_id = str(uuid.uuid4())
    published: list[Enqueued] = []

    def publish() -> None:
        from queue_handlers.tasks import handler_job_task

        enqueued = handler_job_task.enqueue_with(
            (),
            {"job_type": job_type, "handler_job_id": job_id},
            task_id=job_id,
            queue=cls.queue,
            countdown=countdown,
            priority=priority,
            # The history shows (and the jobs layer enforces) this handler's own cap, not the
            # dispatch task's MAX_ATTEMPTS_CAP.
            max_attempts=cls.max_attempts,
        )
        published.append(enqueued)

    try:
        with transaction.atomic():
            HandlerJob.objects.create(id=job_id, job_type=job_type, payload=payload)
            transaction.on_commit(publish, robust=False)
    except Exception:
        if not published:  # publishing failed after the commit (broker down): keep no payload
            HandlerJob.objects.filter(pk=job_id).delete()
        raise
    if published:
        return published[0]
    state = JobState.SCHEDULED if countdown else JobState.QUEUED
    return Enqueued(job_id=job_id, state=str(state))


def enqueue_email(payload: dict[str, Any], **options: Any) -> Enqueued:
    """An e-mail: `to`, `subject`; optional `body`, `html_body`, `attachments`, `cc`, `bcc`,
    `reply_to`."""
    return enqueue_job("email", payload, **options)


def enqueue_ai_processing(payload: dict[str, Any], **options: Any) -> Enqueued:
    """A chat completion: `prompt`; optional `model`, `max_tokens`, `temperature`."""
    return enqueue_job("ai_processing", payload, **options)


def enqueue_thought_extraction(payload: dict[str, Any], **options: Any) -> Enqueued:
    """Structured items from text: `model`, `prompt`; optional `max_tokens`, `temperature`,
    `top_p`."""
    return enqueue_job("thought_extraction", payload, **options)


def handler_job_run(*, job_type: str, handler_job_id: str, attempt: int = 1) -> dict[str, Any]:
    """Run one job through its handler (called by the dispatch task; tests call it directly).

    A handler's `retry_on` error becomes RetryJob (the task retries it with backoff) until the
    handler's max_attempts; anything else fails the job at once with its message.
    """
    record = HandlerJob.objects.filter(pk=handler_job_id).first()
    if record is None:
        raise PermanentJobError(f"{job_type} job {handler_job_id}: payload not found (pruned?)")
    cls = get_handler_class(job_type)
    handler = cls()
    payload = handler.validate_payload(record.payload)
    job = Job(
        id=str(handler_job_id),
        job_type=job_type,
        payload=payload,
        attempt=attempt,
        max_attempts=cls.max_attempts,
    )
    try:
        result = handler.handle_job(job)
    except cls.retry_on as exc:
        error = f"{type(exc).__name__}: {exc}"
        if attempt < cls.max_attempts:
            raise RetryJob(f"attempt {attempt}/{cls.max_attempts}: {error}") from exc
        raise RetriesExhausted(f"gave up after {attempt} attempt(s): {error}") from exc
    HandlerJob.objects.filter(pk=handler_job_id).update(result=_jsonable(result), finished_at=timezone.now())
    return {"job_type": job_type, **handler.summarize(result)}


def handler_job_result(*, job_id: str) -> Any:
    """What a finished job returned (kept here, not in the job history: it may hold PII)."""
    return HandlerJob.objects.values_list("result", flat=True).get(pk=job_id)


def handler_jobs_prune(*, now: Any = None, batch: int = 1000) -> int:
    """Delete payloads past the job history's age whose job is finished or already pruned."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.JOBS_PRUNE_AFTER_DAYS)
    live = JobRecord.objects.filter(pk=OuterRef("pk")).exclude(state__in=FINISHED_STATES)
    old = HandlerJob.objects.filter(created_at__lt=cutoff).exclude(Exists(live))
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += HandlerJob.objects.filter(pk__in=ids).delete()[0]


def _check_size(job_type: str, payload: dict[str, Any]) -> None:
    try:
        size = len(json.dumps(payload))
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"{job_type}: payload must be JSON: {exc}") from None
    if size > settings.HANDLER_MAX_PAYLOAD_BYTES:
        raise InvalidPayload(
            f"{job_type}: payload is {size} bytes, over HANDLER_MAX_PAYLOAD_BYTES "
            f"({settings.HANDLER_MAX_PAYLOAD_BYTES}); store large content elsewhere, pass its id"
        )


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:2000]
    return value

"""The handler contract: what every job type declares and implements.

A handler is a class (like a Zulip queue worker): it names its job type, the fields a payload
must carry, its queue, its rate limit and the exceptions worth another attempt. The dispatcher
(queue_handlers.services.handler_job_run) validates the payload, calls `handle_job`, and turns
the handler's declared transient errors into retries; anything else fails the job once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError


class HandlerError(Exception):
    """Base for errors this app raises."""


class UnknownJobType(HandlerError, LookupError):
    """No handler is registered or discoverable for a job type."""


class InvalidPayload(HandlerError, ValueError):
    """A payload does not satisfy its handler; the message names fields, never their values."""


class PermanentJobError(HandlerError):
    """Retrying cannot help (4xx answer, refused target, garbage from a model, …)."""


class TransientJobError(HandlerError):
    """Worth another attempt (timeout, connection reset, 429, 5xx)."""


class RetryJob(HandlerError):
    """Raised by the dispatcher for a handler's retryable error; the task retries only this."""


class RetriesExhausted(PermanentJobError):
    """A retryable error on the handler's last attempt."""


@dataclass(frozen=True)
class Job:
    """What a handler receives: the job's id (same as the jobs.Job row), type, payload, attempt.

    `payload` is the validated payload: the handler's pydantic model when it declares one, else
    the dict as enqueued.
    """

    id: str
    job_type: str
    payload: Any
    attempt: int = 1
    max_attempts: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


class JobHandler:
    """Subclass this, set the class attributes, implement `handle_job`.

    `payload_model` (a pydantic model) is the usual way to describe a payload; `validate_payload`
    may be overridden for checks a model cannot express. Both run at enqueue (so a bad job is
    refused before anything is queued) and again in the worker.
    """

    job_type: ClassVar[str] = ""
    required_fields: ClassVar[tuple[str, ...]] = ()
    queue: ClassVar[str] = "handlers"
    # "N/Ps", cluster-wide, per job type; settings.HANDLER_RATE_LIMITS overrides it. None: no limit.
    rate_limit: ClassVar[str | None] = None
    max_attempts: ClassVar[int] = 1
    # Exceptions worth another attempt, named like Zulip's retry_on: nothing else is retried.
    retry_on: ClassVar[tuple[type[BaseException], ...]] = (TransientJobError,)
    payload_model: ClassVar[type[BaseModel] | None] = None

    def validate_payload(self, payload: dict[str, Any]) -> Any:
        """Return the payload as the handler wants it, or raise InvalidPayload."""
        if not isinstance(payload, dict):
            raise InvalidPayload(f"{self.job_type}: payload must be a JSON object")
        missing = [f for f in self.required_fields if payload.get(f) is None]
        if missing:
            raise InvalidPayload(f"{self.job_type}: missing required field(s): {', '.join(missing)}")
        if self.payload_model is None:
            return payload
        try:
            return self.payload_model.model_validate(payload)
        except ValidationError as exc:
            raise InvalidPayload(f"{self.job_type}: {describe_validation_error(exc)}") from None

    def handle_job(self, job: Job) -> Any:
        """Do the work; return a JSON-able result. Raise an error in `retry_on` to be retried."""
        raise NotImplementedError

    def summarize(self, result: Any) -> dict[str, Any]:
        """What the job history may show of a result: metadata, never content (PII)."""
        return {"job_type": self.job_type}


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and reasons, without the offending values (they may be PII)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)

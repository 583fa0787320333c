"""Handlers registered by tests (explicitly, by name), some deliberately broken."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from pydantic import BaseModel

from queue_handlers.base import Job, JobHandler, PermanentJobError, TransientJobError


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


class EchoPayload(BaseModel):
    text: str
    fail_times: int = 0
    permanent: bool = False
    refuse_while: str | None = None  # a Redis key: refuse (permanently) while it exists


class CustomEchoHandler(JobHandler):
    """Not named by the convention: found only through register_handler("custom_job", …)."""

    job_type = "custom_job"
    required_fields = ("text",)
    max_attempts = 3
    payload_model = EchoPayload

    def handle_job(self, job: Job) -> dict[str, Any]:
        p: EchoPayload = job.payload
        if p.permanent or (p.refuse_while and _redis().exists(p.refuse_while)):
            raise PermanentJobError("the echo service refuses this text")
        n = _redis().incr(f"test:custom:{job.id}")
        if n <= p.fail_times:
            raise TransientJobError(f"echo service busy ({n})")
        return {"echo": p.text.upper(), "attempt": job.attempt}

    def summarize(self, result: dict[str, Any]) -> dict[str, Any]:
        return {"chars": len(result["echo"])}


class NoHandleJob(JobHandler):
    job_type = "lazy_job"


class WrongType(JobHandler):
    job_type = "something_else"

    def handle_job(self, job: Job) -> None:
        return None

"""Job type "webhook": a signed JSON request to an outside URL, retried on 5xx and timeouts."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from queue_handlers import webhooks
from queue_handlers.base import Job, JobHandler
from queue_handlers.registry import register_handler

# Headers the handler sets itself; a payload may not override them.
_RESERVED = {
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    webhooks.SIGNATURE_HEADER.lower(),
    webhooks.ID_HEADER.lower(),
}


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)
    payload: Any
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    timeout: float = Field(default=10.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            webhooks.check_url(value)
        except webhooks.WebhookRefused as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, v in value.items():
            if name.lower() in _RESERVED:
                raise ValueError(f"header {name} is set by the handler")
            if any(c in name + v for c in "\r\n"):
                raise ValueError("header names and values must be one line")
        return value


@register_handler("webhook")
class WebhookHandler(JobHandler):
    job_type = "webhook"
    required_fields = ("url", "payload")
    rate_limit = None
    max_attempts = 5
    retry_on = (webhooks.WebhookUnavailable,)
    payload_model = WebhookPayload

    def handle_job(self, job: Job) -> dict[str, Any]:
        p: WebhookPayload = job.payload
        body = json.dumps(p.payload, separators=(",", ":"), sort_keys=True).encode()
        status = webhooks.deliver(
            url=p.url, body=body, method=p.method, headers=p.headers, timeout=p.timeout, delivery_id=job.id
        )
        return {"status": status, "host": urlsplit(p.url).hostname, "attempt": job.attempt}

    def summarize(self, result: dict[str, Any]) -> dict[str, Any]:
        return dict(result)

"""Job type "ai_processing": one prompt to an OpenAI-compatible chat-completions API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field

from queue_handlers import llm
from queue_handlers.base import Job, JobHandler
from queue_handlers.registry import register_handler

DEFAULT_MODEL = "gpt-4o-mini"


class AiProcessingPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=100_000)
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=200)
    max_tokens: int | None = Field(default=None, ge=1, le=100_000)
    temperature: float | None = Field(default=None, ge=0, le=2)


@register_handler("ai_processing")
class AiProcessingHandler(JobHandler):
    job_type = "ai_processing"
    required_fields = ("prompt",)
    rate_limit = "30/60s"
    max_attempts = 3
    retry_on = (llm.LLMUnavailable,)
    payload_model = AiProcessingPayload

    def handle_job(self, job: Job) -> dict[str, Any]:
        p: AiProcessingPayload = job.payload
        return llm.chat_completion(
            base_url=settings.AI_API_URL,
            api_key=settings.AI_API_KEY,
            model=p.model,
            messages=[{"role": "user", "content": p.prompt}],
            max_tokens=p.max_tokens,
            temperature=p.temperature,
        )

    def summarize(self, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": result["model"],
            "usage": result["usage"],
            "chars": len(result["content"]),
            "finish_reason": result["finish_reason"],
        }

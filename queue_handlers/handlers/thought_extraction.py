"""Job type "thought_extraction": structured items (calendar events, todos, notes) from text.

The model is asked for JSON; its answer is parsed and validated with pydantic, so a caller
gets well-formed items or a failed job that says what was wrong, never half-parsed garbage.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from queue_handlers import llm
from queue_handlers.base import Job, JobHandler, PermanentJobError, describe_validation_error
from queue_handlers.registry import register_handler

SYSTEM_PROMPT = """You extract structured items from the user's text.
Answer with one JSON object and nothing else, of the form
{"items": [{"kind": "calendar_event" | "todo" | "note", "title": str,
            "start": ISO 8601 datetime or null, "end": ISO 8601 datetime or null,
            "details": str or null}]}
A calendar_event must have a start. Use {"items": []} when there is nothing to extract."""
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidModelOutput(PermanentJobError):
    """The model's answer was not the JSON we asked for."""


class ThoughtExtractionPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1, max_length=100_000)
    max_tokens: int | None = Field(default=None, ge=1, le=100_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)


class ExtractedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Literal["calendar_event", "todo", "note"]
    title: str = Field(min_length=1, max_length=500)
    start: datetime | None = None
    end: datetime | None = None
    details: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _times(self) -> ExtractedItem:
        if self.kind == "calendar_event" and self.start is None:
            raise ValueError("a calendar_event needs a start time")
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class Extraction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: list[ExtractedItem] = Field(max_length=200)


def parse_extraction(content: str) -> Extraction:
    """The model's text -> validated items, or InvalidModelOutput saying what was wrong."""
    match = _FENCE.match(content)
    text = match.group(1) if match else content.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidModelOutput(f"model answer is not JSON ({exc.msg} at char {exc.pos})") from None
    if isinstance(data, list):
        data = {"items": data}
    try:
        return Extraction.model_validate(data)
    except ValidationError as exc:
        raise InvalidModelOutput(
            f"model answer has invalid items: {describe_validation_error(exc)}"
        ) from None


@register_handler("thought_extraction")
class ThoughtExtractionHandler(JobHandler):
    job_type = "thought_extraction"
    required_fields = ("model", "prompt")
    rate_limit = "50/60s"
    max_attempts = 3
    retry_on = (llm.LLMUnavailable,)
    payload_model = ThoughtExtractionPayload

    def handle_job(self, job: Job) -> dict[str, Any]:
        p: ThoughtExtractionPayload = job.payload
        answer = llm.chat_completion(
            base_url=settings.OPENROUTER_API_URL,
            api_key=settings.OPENROUTER_API_KEY,
            model=p.model,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": p.prompt}],
            max_tokens=p.max_tokens,
            temperature=p.temperature,
            top_p=p.top_p,
            response_format={"type": "json_object"},
            extra_headers={"X-Title": "tasksvc thought extraction"},
        )
        extraction = parse_extraction(answer["content"])
        return {
            "items": extraction.model_dump(mode="json")["items"],
            "model": answer["model"],
            "usage": answer["usage"],
        }

    def summarize(self, result: dict[str, Any]) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for item in result["items"]:
            kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        return {"items": len(result["items"]), "kinds": kinds, "model": result["model"]}

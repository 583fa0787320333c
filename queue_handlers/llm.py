"""OpenAI-compatible chat completions (OpenAI, OpenRouter, a local server): one provider module.

The base URL and key come from settings in the worker, never from a job's payload. A session
is made lazily per base URL, so tests (and operators) point it anywhere by settings.
"""

from __future__ import annotations

import functools
from typing import Any

import requests
from django.conf import settings

from queue_handlers.base import PermanentJobError, TransientJobError


class LLMUnavailable(TransientJobError):
    """Timeout, connection failure, 429 or 5xx: worth another attempt."""


class LLMRequestError(PermanentJobError):
    """The API refused the request (4xx other than 429) or answered something unusable."""


@functools.cache
def _session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "tasksvc-queue-handlers/1"
    return session


def chat_completion(
    *,
    base_url: str,
    api_key: str,
    model: str,
    messages: list[dict[str, str]],
    timeout: float | None = None,
    extra_headers: dict[str, str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """POST {base_url}/chat/completions; returns {"content", "model", "usage", "finish_reason"}."""
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json", **(extra_headers or {})}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body = {"model": model, "messages": messages, **{k: v for k, v in params.items() if v is not None}}
    try:
        resp = _session().post(
            url, json=body, headers=headers, timeout=timeout or settings.HANDLER_HTTP_TIMEOUT
        )
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise LLMUnavailable(f"{type(exc).__name__} calling the chat API") from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise LLMUnavailable(f"chat API answered {resp.status_code}")
    if resp.status_code >= 400:
        raise LLMRequestError(f"chat API refused the request: {resp.status_code} {_error(resp)}")
    try:
        data = resp.json()
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMRequestError(f"chat API answer has no choices[0].message.content ({exc})") from None
    if not isinstance(content, str):
        raise LLMRequestError("chat API answer's content is not text")
    return {
        "content": content,
        "model": data.get("model") or model,
        "usage": data.get("usage") or {},
        "finish_reason": choice.get("finish_reason"),
    }


def _error(resp: requests.Response) -> str:
    """The API's own error message, short (it names the problem, not our payload)."""
    try:
        err = resp.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err
    except (ValueError, AttributeError):
        msg = None
    return str(msg or resp.reason or "")[:200]

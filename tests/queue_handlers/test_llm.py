"""ai_processing and thought_extraction against local OpenAI/OpenRouter-compatible servers."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from queue_handlers.base import RetryJob
from queue_handlers.handlers.thought_extraction import InvalidModelOutput
from queue_handlers.llm import LLMRequestError
from tests.queue_handlers.conftest import run_now

pytestmark = pytest.mark.django_db


def _completion(content: str, model: str = "test-model") -> dict:
    return {
        "id": "cmpl-1",
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


@pytest.fixture
def ai_api(httpserver, settings):
    settings.AI_API_URL = httpserver.url_for("/v1/")
    settings.AI_API_KEY = "sk-test-ai"
    return httpserver


@pytest.fixture
def openrouter(httpserver, settings):
    settings.OPENROUTER_API_URL = httpserver.url_for("/api/v1")
    settings.OPENROUTER_API_KEY = "sk-or-test"
    return httpserver


def test_ai_processing_calls_the_configured_api_with_the_key_from_settings(ai_api):
    ai_api.expect_request(
        "/v1/chat/completions",
        method="POST",
        headers={"Authorization": "Bearer sk-test-ai"},
        json={
            "model": "gpt-test",
            "messages": [{"role": "user", "content": "Say hi"}],
            "max_tokens": 20,
            "temperature": 0.2,
        },
    ).respond_with_json(_completion("Hi!", model="gpt-test"))
    summary = run_now(
        "ai_processing", {"prompt": "Say hi", "model": "gpt-test", "max_tokens": 20, "temperature": 0.2}
    )
    assert summary == {
        "job_type": "ai_processing",
        "model": "gpt-test",
        "chars": 3,
        "finish_reason": "stop",
        "usage": _completion("")["usage"],
    }
    from queue_handlers.models import HandlerJob

    assert HandlerJob.objects.get().result["content"] == "Hi!"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_ai_processing_retries_throttling_and_server_errors(ai_api, status):
    ai_api.expect_request("/v1/chat/completions").respond_with_json({"error": "x"}, status=status)
    with pytest.raises(RetryJob, match=f"LLMUnavailable: chat API answered {status}"):
        run_now("ai_processing", {"prompt": "hi"})


def test_ai_processing_fails_at_once_on_a_refused_request(ai_api):
    ai_api.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "model not found"}}, status=404
    )
    with pytest.raises(LLMRequestError, match="404 model not found"):
        run_now("ai_processing", {"prompt": "hi", "model": "nope"})


def test_ai_processing_fails_clearly_on_an_answer_without_content(ai_api):
    ai_api.expect_request("/v1/chat/completions").respond_with_json({"choices": []})
    with pytest.raises(LLMRequestError, match="no choices"):
        run_now("ai_processing", {"prompt": "hi"})


def test_thought_extraction_returns_validated_items(openrouter):
    items = {
        "items": [
            {
                "kind": "calendar_event",
                "title": "Dentist",
                "start": "2026-03-02T15:00:00+01:00",
                "end": "2026-03-02T16:00:00+01:00",
            },
            {"kind": "todo", "title": "Buy milk"},
        ]
    }
    openrouter.expect_request(
        "/api/v1/chat/completions",
        method="POST",
        headers={"Authorization": "Bearer sk-or-test"},
    ).respond_with_json(_completion("```json\n" + json.dumps(items) + "\n```"))
    summary = run_now(
        "thought_extraction",
        {"model": "openai/gpt-test", "top_p": 0.9, "prompt": "Dentist Monday 3pm, buy milk"},
    )
    assert summary["items"] == 2 and summary["kinds"] == {"calendar_event": 1, "todo": 1}
    sent = openrouter.log[0][0].get_json()
    assert sent["model"] == "openai/gpt-test" and sent["top_p"] == 0.9
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["messages"][-1] == {"role": "user", "content": "Dentist Monday 3pm, buy milk"}
    from queue_handlers.models import HandlerJob

    event = HandlerJob.objects.get().result["items"][0]
    assert event["title"] == "Dentist" and event["start"] == "2026-03-02T15:00:00+01:00"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("Sure! Here are your events: dentist at 3", "model answer is not JSON"),
        ('{"items": [{"kind": "calendar_event", "title": "Dentist"}]}', "calendar_event needs a start time"),
        ('{"items": [{"kind": "meeting", "title": "x", "start": "2026-01-01T10:00:00"}]}', "items.0.kind"),
        ('{"items": [{"kind": "calendar_event", "title": "x", "start": "tomorrow-ish"}]}', "items.0.start"),
        ('{"things": []}', "items: Field required"),
    ],
)
def test_thought_extraction_fails_clearly_on_garbage(openrouter, content, expected):
    openrouter.expect_request("/api/v1/chat/completions").respond_with_json(_completion(content))
    with pytest.raises(InvalidModelOutput, match=expected):
        run_now("thought_extraction", {"model": "m", "prompt": "text"})


def test_thought_extraction_retries_a_server_error(openrouter):
    openrouter.expect_request("/api/v1/chat/completions").respond_with_response(
        Response("upstream down", status=502)
    )
    with pytest.raises(RetryJob, match="502"):
        run_now("thought_extraction", {"model": "m", "prompt": "text"})

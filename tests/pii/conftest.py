"""Slack at its HTTP boundary (pytest-httpserver) and signed requests to /slack/events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from werkzeug import Request, Response

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def sign(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    base = f"v0:{ts}:".encode() + body
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(ts), "HTTP_X_SLACK_SIGNATURE": sig}


def message_event(
    text: str,
    *,
    event_id: str = "Ev001",
    ts: str = "1712345678.123456",
    channel: str = "C0PII",
    user: str = "U0AUTHOR",
    **event: Any,
) -> dict:
    return {
        "type": "event_callback",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "event_id": event_id,
        "event_time": 1712345678,
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "channel_type": "channel",
            **event,
        },
    }


@pytest.fixture
def slack_settings(settings, httpserver):
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_API_URL = httpserver.url_for("/api/")
    return settings


@pytest.fixture
def post_event(client: Client, slack_settings) -> Callable[..., Any]:
    def post(payload: dict, headers: dict[str, str] | None = None, **kw: Any):
        body = json.dumps(payload).encode()
        return client.post(
            "/slack/events", data=body, content_type="application/json", **sign(body, **kw), **(headers or {})
        )

    return post


class SlackApi:
    """Records the Web API calls that reach the fake Slack, answers ok unless told otherwise."""

    def __init__(self, httpserver) -> None:
        self.calls: list[tuple[str, dict, float, dict]] = []
        self.replies: dict[str, list[Callable[[], Response]]] = {}
        httpserver.expect_request(__import__("re").compile(r"^/api/.*")).respond_with_handler(self._handle)

    def reply(self, method: str, *responses: dict | Response) -> None:
        self.replies.setdefault(method, []).extend(
            (
                lambda r=r: (
                    r if isinstance(r, Response) else Response(json.dumps(r), content_type="application/json")
                )
            )
            for r in responses
        )

    def _handle(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        data = request.get_json(silent=True) or dict(request.form)
        self.calls.append((method, data, time.monotonic(), dict(request.headers)))
        queued = self.replies.get(method)
        if queued:
            return queued.pop(0)()
        body: dict = {"ok": True}
        if method == "conversations.open":
            body["channel"] = {"id": "D0DM"}
        return Response(json.dumps(body), content_type="application/json")

    def methods(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture
def slack_api(httpserver, slack_settings) -> SlackApi:
    return SlackApi(httpserver)

"""Slack at its HTTP boundary (tests/pii/fake_slack.py) and signed requests to /slack/events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.pii.fake_slack import FakeSlack

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
ADMIN_TOKEN = "xoxp-admin-token"


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
    settings.SLACK_USER_TOKEN = ADMIN_TOKEN
    settings.SLACK_API_URL = httpserver.url_for("/api/")
    settings.SLACK_CLIENT_ID = "1234.5678"
    settings.SLACK_CLIENT_SECRET = "client-secret"
    return settings


@pytest.fixture
def fakes() -> list[FakeSlack]:
    """The fake Slack of this test, if it has one: posted events become its messages."""
    return []


@pytest.fixture
def post_event(client: Client, slack_settings, fakes) -> Callable[..., Any]:
    def post(payload: dict, headers: dict[str, str] | None = None, **kw: Any):
        ev = payload.get("event") or {}
        msg = ev.get("message") if ev.get("subtype") == "message_changed" else ev
        for fake in fakes:
            if msg and msg.get("ts") and ev.get("channel"):
                fake.add_message(ev["channel"], msg["ts"], msg.get("user", ""))
        body = json.dumps(payload).encode()
        return client.post(
            "/slack/events", data=body, content_type="application/json", **sign(body, **kw), **(headers or {})
        )

    return post


@pytest.fixture
def slack_api(httpserver, slack_settings, fakes) -> FakeSlack:
    """Slack with one workspace: our bot, an admin who installed it, and the author, all in C0PII."""
    fake = FakeSlack().attach(httpserver)
    fake.add_token(TOKEN, "bot", "U0BOT")
    fake.add_token(ADMIN_TOKEN, "user", "U0ADMIN", is_admin=True)
    fake.channels["C0PII"] = {"U0AUTHOR", "U0BOT", "U0ADMIN"}
    fakes.append(fake)
    return fake


def file_url(httpserver, file_id: str, name: str) -> str:
    return httpserver.url_for(f"/files-pri/{file_id}/{name}")

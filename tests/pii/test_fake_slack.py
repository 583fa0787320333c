"""The fake Slack refuses what Slack refuses (driven with slack-sdk, as our code drives it)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.pii.conftest import ADMIN_TOKEN, TOKEN


def _error(client: WebClient, method: str, **kw) -> str:
    with pytest.raises(SlackApiError) as exc:
        getattr(client, method)(**kw)
    return exc.value.response["error"]


def test_refusals(slack_api, slack_settings):
    base = slack_settings.SLACK_API_URL
    bot, admin = WebClient(token=TOKEN, base_url=base), WebClient(token=ADMIN_TOKEN, base_url=base)
    slack_api.add_message("C0PII", "1.1", "U0AUTHOR")
    slack_api.add_message("C0PII", "1.2", "U0BOT")
    assert _error(bot, "chat_delete", channel="C0PII", ts="1.1") == "cant_delete_message"
    assert bot.chat_delete(channel="C0PII", ts="1.2")["ok"]  # its own message
    assert _error(bot, "chat_delete", channel="C0PII", ts="9.9") == "message_not_found"
    assert (
        _error(bot, "chat_postEphemeral", channel="C0PII", user="U0STRANGER", text="x")
        == "user_not_in_channel"
    )
    slack_api.add_token("xoxp-noscope", "user", "U0ADMIN", is_admin=True, scopes=set())
    noscope = WebClient(token="xoxp-noscope", base_url=base)
    assert _error(noscope, "chat_delete", channel="C0PII", ts="1.1") == "missing_scope"
    assert _error(admin, "conversations_members", channel="C0PII") == "missing_scope"
    assert admin.chat_delete(channel="C0PII", ts="1.1")["ok"]  # an admin may
    slack_api.ratelimit("chat.postMessage", retry_after=30)
    with pytest.raises(SlackApiError) as exc:
        bot.chat_postMessage(channel="C0PII", text="x")
    assert exc.value.response.status_code == 429 and exc.value.response.headers["Retry-After"] == "30"
    slack_api.revoke(TOKEN)
    assert _error(bot, "auth_test") == "token_revoked"
    assert _error(WebClient(token="xoxb-unknown", base_url=base), "auth_test") == "invalid_auth"
    assert _error(WebClient(base_url=base), "auth_test") == "not_authed"

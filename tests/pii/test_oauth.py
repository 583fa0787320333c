"""Slack OAuth v2 install and uninstall, against the fake Slack's oauth.v2.access."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from pii.installations import DjangoInstallationStore, workspace_tokens
from pii.models import SlackInstallation
from tests.pii.conftest import message_event
from tests.pii.fake_slack import Install

pytestmark = pytest.mark.django_db

BOT, USER = "xoxb-installed-bot", "xoxp-installed-admin"


def _start(admin_client) -> str:
    resp = admin_client.get("/slack/install")
    assert resp.status_code == 302
    url = urlsplit(resp["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://slack.com/oauth/v2/authorize"
    query = parse_qs(url.query)
    assert query["client_id"] == ["1234.5678"]
    assert "chat:write" in query["scope"][0] and "files:read" in query["scope"][0]
    assert query["user_scope"] == ["chat:write,files:write"]
    return query["state"][0]


def test_install_stores_encrypted_tokens_and_uninstall_disables(admin_client, slack_api, post_event):
    slack_api.add_token(BOT, "bot", "U0NEWBOT", team_id="T0NEW", bot_id="B0NEW")
    slack_api.codes["code-1"] = Install("T0NEW", "New Co", BOT, USER, "U0NEWBOT", "U0ADMIN")
    state = _start(admin_client)
    resp = admin_client.get("/slack/oauth_redirect", {"code": "code-1", "state": state})
    assert resp.status_code == 200, resp.content
    assert "installed in New Co" in resp.content.decode()
    row = SlackInstallation.objects.get(team_id="T0NEW")
    assert (row.bot_user_id, row.bot_id, row.user_id, row.active) == ("U0NEWBOT", "B0NEW", "U0ADMIN", True)
    assert row.installer_is_admin is True and row.has_admin_token  # users.info says so
    tokens = workspace_tokens(team_id="T0NEW")
    assert (tokens.bot, tokens.user, tokens.source) == (BOT, USER, "installation")
    with connection.cursor() as cur:  # at rest: encrypted, not the token
        cur.execute("SELECT * FROM pii_slackinstallation")
        dump = json.dumps(cur.fetchall(), default=str)
    assert BOT not in dump and USER not in dump
    assert DjangoInstallationStore().find_installation(enterprise_id=None, team_id="T0NEW").user_token == USER
    bot = DjangoInstallationStore().find_bot(enterprise_id=None, team_id="T0NEW")
    assert (bot.bot_token, bot.bot_user_id, bot.team_id) == (BOT, "U0NEWBOT", "T0NEW")
    page = admin_client.get("/admin/pii/slackinstallation/").content.decode()
    assert "T0NEW" in page and BOT not in page and USER not in page

    # The state was single-use: replaying the redirect installs nothing.
    assert admin_client.get("/slack/oauth_redirect", {"code": "code-1", "state": state}).status_code == 400

    event = {
        **message_event("x", event_id="EvUninstall"),
        "team_id": "T0NEW",
        "event": {"type": "app_uninstalled"},
    }
    assert post_event(event).status_code == 200
    row.refresh_from_db()
    assert not row.active and row.bot_token_encrypted == "" and row.user_token_encrypted == ""
    assert workspace_tokens(team_id="T0NEW").source == "none"
    assert DjangoInstallationStore().find_bot(enterprise_id=None, team_id="T0NEW") is None


def test_bot_only_install_is_marked_as_unable_to_delete(admin_client, slack_api):
    slack_api.add_token(BOT, "bot", "U0NEWBOT", team_id="T0NEW")
    slack_api.codes["code-2"] = Install("T0NEW", "New Co", BOT, None, "U0NEWBOT", "U0MEMBER")
    state = _start(admin_client)
    resp = admin_client.get("/slack/oauth_redirect", {"code": "code-2", "state": state})
    assert resp.status_code == 200 and "without an admin token" in resp.content.decode()
    assert not SlackInstallation.objects.get(team_id="T0NEW").has_admin_token


def test_install_needs_the_admin_login(client, slack_settings):
    resp = client.get("/slack/install")
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("case", ["forged_state", "other_browser", "bad_code", "denied"])
def test_redirect_refuses_what_it_did_not_start(admin_client, client, slack_api, case):
    slack_api.codes["code-3"] = Install("T0NEW", "New Co", BOT, USER, "U0NEWBOT", "U0ADMIN")
    state = _start(admin_client)
    if case == "forged_state":
        resp = admin_client.get("/slack/oauth_redirect", {"code": "code-3", "state": "forged"})
    elif case == "other_browser":  # a leaked link opened elsewhere: the state cookie is missing
        resp = client.get("/slack/oauth_redirect", {"code": "code-3", "state": state})
    elif case == "bad_code":
        resp = admin_client.get("/slack/oauth_redirect", {"code": "nope", "state": state})
    else:
        resp = admin_client.get("/slack/oauth_redirect", {"error": "access_denied", "state": state})
    assert resp.status_code == 400
    assert not SlackInstallation.objects.exists()


def test_install_by_a_non_admin_is_marked_as_unable_to_delete(admin_client, slack_api):
    slack_api.add_token(BOT, "bot", "U0NEWBOT", team_id="T0NEW")
    slack_api.add_token("xoxp-member", "user", "U0MEMBER", team_id="T0NEW", is_admin=False)
    slack_api.codes["code-4"] = Install("T0NEW", "New Co", BOT, "xoxp-member", "U0NEWBOT", "U0MEMBER")
    state = _start(admin_client)
    resp = admin_client.get("/slack/oauth_redirect", {"code": "code-4", "state": state})
    assert resp.status_code == 200 and "not a workspace admin" in resp.content.decode()
    row = SlackInstallation.objects.get(team_id="T0NEW")
    assert row.installer_is_admin is False and not row.has_admin_token

"""Installing the Slack app needs pii.install_slack_app, and a reinstall that would stop
deletions (no admin token, fewer scopes) is saved only after the person confirms."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from pii.installations import workspace_tokens
from pii.models import SlackInstallation
from tests.pii.fake_slack import Install

pytestmark = pytest.mark.django_db

BOT, USER = "xoxb-installed-bot", "xoxp-installed-admin"


@pytest.fixture
def staff(django_user_model):
    def make(*, may_install: bool) -> Client:
        user = django_user_model.objects.create_user(
            username=f"staff-{may_install}", password="pw-staff-123", is_staff=True
        )
        if may_install:
            user.user_permissions.add(Permission.objects.get(codename="install_slack_app"))
        client = Client()
        client.force_login(user)
        return client

    return make


def _install(client: Client, code: str):
    start = client.get("/slack/install")
    assert start.status_code == 302, start.content
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    return client.get("/slack/oauth_redirect", {"code": code, "state": state})


def test_staff_without_the_permission_cannot_install(staff, slack_api):
    slack_api.codes["code-1"] = Install("T0NEW", "New Co", BOT, USER, "U0NEWBOT", "U0ADMIN")
    refused = staff(may_install=False).get("/slack/install")
    assert refused.status_code == 403 and "pii.install_slack_app" in refused.content.decode()

    slack_api.add_token(BOT, "bot", "U0NEWBOT", team_id="T0NEW")
    resp = _install(staff(may_install=True), "code-1")
    assert resp.status_code == 200 and "installed in New Co" in resp.content.decode()
    assert workspace_tokens(team_id="T0NEW").user == USER


def test_a_reinstall_without_the_admin_token_asks_first_and_says_deletions_stop(staff, slack_api):
    slack_api.add_token(BOT, "bot", "U0NEWBOT", team_id="T0NEW")
    slack_api.add_token("xoxb-second", "bot", "U0NEWBOT", team_id="T0NEW")
    slack_api.codes["code-1"] = Install("T0NEW", "New Co", BOT, USER, "U0NEWBOT", "U0ADMIN")
    slack_api.codes["code-2"] = Install("T0NEW", "New Co", "xoxb-second", None, "U0NEWBOT", "U0MEMBER")
    slack_api.codes["code-3"] = Install("T0NEW", "New Co", "xoxb-second", None, "U0NEWBOT", "U0MEMBER")
    client = staff(may_install=True)
    assert _install(client, "code-1").status_code == 200
    assert SlackInstallation.objects.get(team_id="T0NEW").has_admin_token

    # when a bot-only reinstall comes back from Slack
    page = _install(client, "code-2").content.decode()
    # then it asks, saying what stops, and nothing is replaced yet
    assert "Replace the Slack installation of New Co?" in page
    assert "Deletions will stop" in page and "the admin user token" in page
    assert workspace_tokens(team_id="T0NEW").user == USER
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    kept = client.post("/slack/install/confirm", {"nonce": nonce, "confirm": "no"})
    assert "were kept" in kept.content.decode() and workspace_tokens(team_id="T0NEW").bot == BOT

    # and a yes replaces it, once
    page = _install(client, "code-3").content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    assert (
        staff(may_install=False)
        .post("/slack/install/confirm", {"nonce": nonce, "confirm": "yes"})
        .status_code
        == 403
    )
    done = client.post("/slack/install/confirm", {"nonce": nonce, "confirm": "yes"})
    assert "without an admin token" in done.content.decode()
    tokens = workspace_tokens(team_id="T0NEW")
    assert (tokens.bot, tokens.user) == ("xoxb-second", "")
    assert not SlackInstallation.objects.get(team_id="T0NEW").has_admin_token
    assert client.post("/slack/install/confirm", {"nonce": nonce, "confirm": "yes"}).status_code == 400

"""Readiness section "pii" (issue 19): not configured is a warning, configured and broken is a
failure — a bot token Slack refuses is found by asking Slack's auth.test (a fake Slack that
answers as Slack documents, on pytest-httpserver)."""

from __future__ import annotations

import pytest

from jobs.observe.health import run_checks
from pii.models import SlackInstallation
from tests.pii.conftest import TOKEN

pytestmark = pytest.mark.django_db


def pii_section() -> dict:
    return run_checks(["pii"])[1]["checks"]["pii"]


def test_a_fresh_install_without_slack_is_a_warning_not_a_failure(settings):
    settings.SLACK_SIGNING_SECRET = settings.SLACK_BOT_TOKEN = settings.SLACK_USER_TOKEN = ""
    section = pii_section()
    assert section["ok"] and section["status"] == "warning"
    assert "Slack is not configured" in section["warning"]


def test_a_bot_token_slack_refuses_fails_readiness_with_the_reason(slack_api, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-revoked-or-mistyped"
    section = pii_section()
    assert section["status"] == "failing"
    assert "Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)" in section["error"]
    assert 'section "Slack scanning (pii) does not work"' in section["fix"]
    assert "xoxb-revoked" not in str(section)  # the token itself is never in the report


def test_a_bot_token_slack_accepts_is_green(slack_api, settings):
    assert settings.SLACK_BOT_TOKEN == TOKEN
    section = pii_section()
    assert section["status"] == "ok", section
    assert section["auth_test"]["ok"] is True


def test_installations_without_the_signing_secret_fail(settings):
    settings.SLACK_SIGNING_SECRET = settings.SLACK_BOT_TOKEN = ""
    SlackInstallation.objects.create(team_id="T1", team_name="Acme", active=True)
    section = pii_section()
    assert section["status"] == "failing"
    assert "SLACK_SIGNING_SECRET is not set" in section["error"]

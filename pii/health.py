"""Readiness section "pii": is Slack scanning configured, and does what is configured work?

- not configured (a fresh `make run`: no signing secret, no bot token, no installation) is a
  warning — nothing is broken, nothing is scanned;
- configured and broken is a failure: installations or a bot token without the signing secret
  (every Slack request is refused), or a bot token Slack refuses (`auth.test` answers
  invalid_auth / token_revoked / …: every detection's file fetch and delete would fail).
`auth.test` is asked at most once a minute per token (readiness is polled every few seconds);
Slack being unreachable is a warning, since it says nothing about our configuration.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.db.models import Q

AUTH_TEST_EVERY = 60.0
_auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def bot_token_test(token: str) -> dict[str, Any]:
    """Slack's answer to auth.test for the bot token: {"ok": True, "team"...} or the error code."""
    from slack_sdk.errors import SlackApiError

    from pii import slack

    key = hashlib.sha256(f"{settings.SLACK_API_URL}|{token}".encode()).hexdigest()
    cached = _auth_cache.get(key)
    if cached and time.monotonic() - cached[0] < AUTH_TEST_EVERY:
        return cached[1]
    try:
        data: Any = slack.client(token).auth_test().data
        answer: dict[str, Any] = {"ok": True, "team": data.get("team"), "bot_user": data.get("user_id")}
    except SlackApiError as exc:
        resp = exc.response
        answer = {
            "ok": False,
            "refused": True,
            "error": str((resp.get("error") if resp else "") or "refused"),
        }
    except Exception as exc:  # network: Slack's trouble, not proof our token is wrong
        answer = {"ok": False, "refused": False, "error": f"Slack unreachable: {type(exc).__name__}"}
    _auth_cache[key] = (time.monotonic(), answer)
    return answer


def pii_health() -> dict[str, Any]:
    from pii.detector import get_detector
    from pii.models import SlackInstallation

    installs = SlackInstallation.objects.filter(active=True)
    secret, bot = bool(settings.SLACK_SIGNING_SECRET), bool(settings.SLACK_BOT_TOKEN)
    report: dict[str, Any] = {
        "ok": True,
        "detector": type(get_detector()).__name__,
        "signing_secret": secret,
        "bot_token": bot,
        "user_token": bool(settings.SLACK_USER_TOKEN),
        "installations": installs.count(),
        "installations_without_admin_token": installs.filter(
            Q(user_token_encrypted="") | Q(installer_is_admin=False)
        ).count(),
    }
    configured = bot or report["installations"] > 0
    if not secret and not configured:
        report["warning"] = (
            "Slack is not configured (SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN unset, no workspace "
            "installed): no message is scanned"
        )
        return report
    if not secret:
        report.update(ok=False, error="SLACK_SIGNING_SECRET is not set: every Slack request is refused")
        return report
    if not configured:
        report["warning"] = (
            "no bot token and no workspace installed: events are accepted but nothing can be fetched"
        )
        return report
    if bot:
        answer = bot_token_test(settings.SLACK_BOT_TOKEN)
        report["auth_test"] = {k: v for k, v in answer.items() if k != "refused"}
        if not answer["ok"] and answer.get("refused"):
            report.update(
                ok=False,
                error=f"Slack refused SLACK_BOT_TOKEN (auth.test: {answer['error']}): every detection fails",
                fix="set SLACK_BOT_TOKEN to the app's current bot token (Slack app → OAuth & Permissions)",
            )
        elif not answer["ok"]:
            report["warning"] = f"the bot token could not be checked: {answer['error']}"
    return report

"""Slack's OAuth v2 install flow with slack-sdk: /slack/install (admin login) and
/slack/oauth_redirect (state verified twice: issued by our store, and bound to the browser that
started the flow by a signed cookie, so a state leaked in a link cannot install for someone else).

The user scopes ask for the installing admin's user token: Slack lets a bot delete only its own
messages, and a user token delete only what that user may delete, so removing a member's message
needs an admin's or owner's token.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import escape
from django.views.decorators.http import require_GET
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Installation

from pii.installations import DjangoInstallationStore, DjangoOAuthStateStore
from pii.models import SlackInstallation

logger = logging.getLogger("pii.oauth")
COOKIE = "pii-slack-oauth-state"
STATE_SECONDS = 600


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    html = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(body)}</p>"
    return HttpResponse(html, status=status)


@require_GET
@staff_member_required
def slack_install(request: HttpRequest) -> HttpResponse:
    if not (settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET):
        return _page("Slack is not configured", "Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.", 503)
    state = DjangoOAuthStateStore(STATE_SECONDS).issue()
    url = AuthorizeUrlGenerator(
        client_id=settings.SLACK_CLIENT_ID,
        redirect_uri=settings.SLACK_OAUTH_REDIRECT_URI or None,
        scopes=settings.SLACK_BOT_SCOPES,
        user_scopes=settings.SLACK_USER_SCOPES,
        authorization_url=settings.SLACK_AUTHORIZE_URL,
    ).generate(state)
    response = HttpResponseRedirect(url)
    response.set_signed_cookie(
        COOKIE, state, salt=COOKIE, max_age=STATE_SECONDS, httponly=True, samesite="Lax",
        secure=request.is_secure(),
    )  # fmt: skip
    return response


@require_GET
def slack_oauth_redirect(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    try:
        bound = request.get_signed_cookie(COOKIE, default="", salt=COOKIE, max_age=STATE_SECONDS)
    except BadSignature:
        bound = ""
    if not state or state != bound or not DjangoOAuthStateStore(STATE_SECONDS).consume(state):
        logger.warning("slack oauth state rejected", extra={"fields": {"cookie": bool(bound)}})
        return _page("Installation failed", "The link has expired or was not started here: try again.", 400)
    if request.GET.get("error"):
        return _page("Installation cancelled", f"Slack said: {request.GET['error'][:100]}", 400)
    code = request.GET.get("code", "")
    if not code:
        return _page("Installation failed", "Slack sent no code.", 400)
    try:
        installation = _exchange(code)
    except SlackApiError as exc:
        error = str((exc.response or {}).get("error") or "unknown")[:100]
        logger.warning("slack oauth exchange refused", extra={"fields": {"error": error}})
        return _page("Installation failed", f"Slack refused the code: {error}", 400)
    DjangoInstallationStore().save(installation)
    admin = _installer_is_admin(installation)
    SlackInstallation.objects.filter(
        enterprise_id=installation.enterprise_id or "",
        team_id="" if installation.is_enterprise_install else installation.team_id or "",
    ).update(installer_is_admin=admin)
    where = installation.team_name or installation.enterprise_name or "Slack"
    if not installation.user_token:
        note = " without an admin token: members' messages cannot be removed."
    elif admin is False:
        note = " by someone who is not a workspace admin or owner: members' messages cannot be removed."
    else:
        note = "."
    response = _page("Installed", f"The PII app is installed in {where}{note}")
    response.delete_cookie(COOKIE)
    return response


def _installer_is_admin(installation: Installation) -> bool | None:
    """users.info for the installer (bot token, users:read); None when Slack does not say."""
    if not (installation.bot_token and installation.user_id):
        return None
    try:
        user = (
            WebClient(token=installation.bot_token, base_url=settings.SLACK_API_URL, timeout=10)
            .users_info(user=installation.user_id)
            .get("user")
            or {}
        )
    except SlackApiError:
        return None
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _exchange(code: str) -> Installation:
    """oauth.v2.access, then auth.test for the bot id (Slack's response does not carry it)."""
    client = WebClient(base_url=settings.SLACK_API_URL, timeout=10)
    data = client.oauth_v2_access(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        code=code,
        redirect_uri=settings.SLACK_OAUTH_REDIRECT_URI or None,
    ).data
    assert isinstance(data, dict)  # API methods answer JSON: SlackResponse.data is bytes only for files
    bot_token = data.get("access_token") or ""
    bot_id = ""
    if bot_token:
        bot_id = (
            WebClient(token=bot_token, base_url=settings.SLACK_API_URL, timeout=10).auth_test().get("bot_id")
            or ""
        )
    user = data.get("authed_user") or {}
    team, enterprise = data.get("team") or {}, data.get("enterprise") or {}
    return Installation(
        app_id=data.get("app_id"),
        enterprise_id=enterprise.get("id"),
        enterprise_name=enterprise.get("name"),
        team_id=team.get("id"),
        team_name=team.get("name"),
        bot_token=bot_token or None,
        bot_id=bot_id or None,
        bot_user_id=data.get("bot_user_id"),
        bot_scopes=data.get("scope") or "",
        user_id=user.get("id") or "",
        user_token=user.get("access_token"),
        user_scopes=user.get("scope") or "",
        is_enterprise_install=bool(data.get("is_enterprise_install")),
        token_type=data.get("token_type"),
    )

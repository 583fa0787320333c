"""Slack's OAuth v2 install flow with slack-sdk: /slack/install (staff login with the permission
pii.install_slack_app) and /slack/oauth_redirect (state verified twice: issued by our store, and
bound to the browser that started the flow by a signed cookie, so a state leaked in a link cannot
install for someone else). A reinstall that would leave fewer rights than the current install
(no admin user token, a member as installer, fewer scopes) is saved only after the person
confirms on /slack/install/confirm, told that deletions will stop.

The user scopes ask for the installing admin's user token: Slack lets a bot delete only its own
messages, and a user token delete only what that user may delete, so removing a member's message
needs an admin's or owner's token.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.html import escape, format_html, format_html_join
from django.views.decorators.http import require_GET, require_POST
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Installation

from pii import crypto
from pii.installations import DjangoInstallationStore, DjangoOAuthStateStore, installation_losses
from pii.models import SlackInstallation

logger = logging.getLogger("pii.oauth")
COOKIE = "pii-slack-oauth-state"
PENDING = "pii-slack-pending-install"  # session key: a reinstall waiting for its confirmation
PERMISSION = "pii.install_slack_app"
STATE_SECONDS = 600


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    html = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(body)}</p>"
    return HttpResponse(html, status=status)


def _refused() -> HttpResponse:
    return _page(
        "Not allowed",
        "Installing the Slack app replaces the tokens deletions run on: it needs the permission "
        '"Can install or reinstall the Slack app" (pii.install_slack_app).',
        403,
    )


def _may_install(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


@require_GET
@staff_member_required
def slack_install(request: HttpRequest) -> HttpResponse:
    if not _may_install(request):
        return _refused()
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
    if not _may_install(request):  # the permission may have been taken away since the start
        return _refused()
    if request.GET.get("error"):
        return _page("Installation cancelled", f"Slack said: {request.GET['error'][:100]}", 400)
    code = request.GET.get("code", "")
    if not code:
        return _page("Installation failed", "Slack sent no code.", 400)
    try:
        fields = _exchange(code)
    except SlackApiError as exc:
        error = str((exc.response or {}).get("error") or "unknown")[:100]
        logger.warning("slack oauth exchange refused", extra={"fields": {"error": error}})
        return _page("Installation failed", f"Slack refused the code: {error}", 400)
    installation = Installation(**fields)
    admin = _installer_is_admin(installation)
    losses = installation_losses(installation=installation, installer_is_admin=admin)
    if losses:
        response = _confirm_page(request, fields, admin, losses)
    else:
        response = _installed(installation, admin)
    response.delete_cookie(COOKIE)
    return response


@require_POST
@staff_member_required
def slack_install_confirm(request: HttpRequest) -> HttpResponse:
    """The answer to a downgrade's question: only then are the current tokens replaced."""
    if not _may_install(request):
        return _refused()
    pending = request.session.pop(PENDING, None) or {}
    if (
        not pending.get("nonce")
        or not constant_time_compare(pending["nonce"], request.POST.get("nonce", ""))
        or pending.get("until", 0) < time.time()
    ):
        return _page(
            "Installation failed", "This confirmation has expired: start the installation again.", 400
        )
    if request.POST.get("confirm") != "yes":
        return _page("Not installed", "The current installation and its tokens were kept.")
    try:
        fields, admin = json.loads(crypto.decrypt(pending["data"]))
    except crypto.TokenDecryptError:  # the key was rotated away meanwhile
        return _page("Installation failed", "This confirmation can no longer be read: start again.", 400)
    logger.warning(
        "slack reinstall with fewer rights confirmed",
        extra={"fields": {"team": fields["team_id"], "user": request.user.pk}},
    )
    return _installed(Installation(**fields), admin)


def _confirm_page(
    request: HttpRequest, fields: dict[str, Any], admin: bool | None, losses: list[str]
) -> HttpResponse:
    """Nothing is saved yet: the new tokens wait (encrypted, in this browser's session, for
    STATE_SECONDS) for a yes."""
    nonce = secrets.token_urlsafe(16)
    request.session[PENDING] = {
        "nonce": nonce,
        "until": time.time() + STATE_SECONDS,
        "data": crypto.encrypt(json.dumps([fields, admin])),
    }
    where = fields.get("team_name") or fields.get("enterprise_name") or "Slack"
    items = format_html_join("", "<li>{}</li>", ((loss,) for loss in losses))
    html = format_html(
        "<!doctype html><title>Replace the Slack installation?</title>"
        "<h1>Replace the Slack installation of {}?</h1>"
        "<p>This installation has fewer rights than the current one. It would lose:</p><ul>{}</ul>"
        "<p><strong>{}</strong></p>"
        '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="nonce" value="{}">'
        '<button name="confirm" value="yes">Replace it anyway</button> '
        '<button name="confirm" value="no">Keep the current installation</button></form>',
        where,
        items,
        "Deletions will stop: PII in members' messages will no longer be removed."
        if any("deleting" in loss for loss in losses)
        else "Whatever needs these scopes will stop working.",
        reverse("slack-install-confirm"),
        get_token(request),
        nonce,
    )
    return HttpResponse(html)


def _installed(installation: Installation, admin: bool | None) -> HttpResponse:
    DjangoInstallationStore().save(installation)
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
    return _page("Installed", f"The PII app is installed in {where}{note}")


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


def _exchange(code: str) -> dict[str, Any]:
    """oauth.v2.access, then auth.test for the bot id (Slack's response does not carry it):
    slack-sdk's Installation fields (JSON, so a confirmation can hold them)."""
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
    return dict(
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

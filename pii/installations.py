"""Slack OAuth v2 storage on Django models, behind slack-sdk's own interfaces.

`DjangoInstallationStore` implements slack_sdk's InstallationStore (one row per workspace or
org-wide install, tokens encrypted), `DjangoOAuthStateStore` its OAuthStateStore (a state is
single-use and expires). `workspace_tokens` is what the Slack client asks for a team's tokens:
the installation's when there is one, else the single-workspace environment configuration
(SLACK_BOT_TOKEN, SLACK_USER_TOKEN).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from pii.models import SlackInstallation, SlackOAuthState

logger = logging.getLogger("pii.oauth")


class DjangoInstallationStore(InstallationStore):
    @property
    def logger(self) -> logging.Logger:
        return logger

    def save(self, installation: Installation) -> None:
        """A re-install replaces the tokens (and re-activates); a bot-only re-install keeps no
        stale admin token of someone else."""
        with transaction.atomic():
            row, _ = SlackInstallation.objects.select_for_update().get_or_create(
                enterprise_id=installation.enterprise_id or "",
                team_id="" if installation.is_enterprise_install else installation.team_id or "",
            )
            row.team_name = installation.team_name or ""
            row.is_enterprise_install = bool(installation.is_enterprise_install)
            row.app_id = installation.app_id or ""
            row.bot_id = installation.bot_id or ""
            row.bot_user_id = installation.bot_user_id or ""
            row.bot_scopes = ",".join(installation.bot_scopes or [])
            row.bot_token = installation.bot_token or ""
            row.user_id = installation.user_id or ""
            row.user_scopes = ",".join(installation.user_scopes or [])
            row.user_token = installation.user_token or ""
            row.active, row.disabled_reason = True, ""
            row.save()
        logger.info("slack installed", extra={"fields": {"installation": row.pk, "team": row.team_id}})

    def save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("installations are saved whole by save()")

    def _row(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> SlackInstallation | None:
        return lookup(enterprise_id=enterprise_id or "", team_id=team_id or "", active_only=True)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None or not row.bot_token_encrypted:
            return None
        return _installation(row).to_bot()

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        row = self._row(enterprise_id, team_id, is_enterprise_install)
        if row is None or (user_id and user_id != row.user_id):
            return None
        return _installation(row)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        installation_disable(enterprise_id=enterprise_id or "", team_id=team_id or "", reason="bot removed")

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        row = lookup(enterprise_id=enterprise_id or "", team_id=team_id or "", active_only=False)
        if row and (not user_id or user_id == row.user_id):
            row.user_token = ""
            row.save(update_fields=["user_token_encrypted", "updated_at"])

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        installation_disable(
            enterprise_id=enterprise_id or "", team_id=team_id or "", reason="app uninstalled"
        )


def _installation(row: SlackInstallation) -> Installation:
    """slack-sdk's Installation of a row (its to_bot() gives the Bot)."""
    return Installation(
        app_id=row.app_id,
        enterprise_id=row.enterprise_id or None,
        team_id=row.team_id or None,
        team_name=row.team_name,
        bot_token=row.bot_token or None,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=row.bot_scopes,
        user_id=row.user_id,
        user_token=row.user_token or None,
        user_scopes=row.user_scopes,
        is_enterprise_install=row.is_enterprise_install,
        installed_at=row.installed_at.timestamp(),
    )


class DjangoOAuthStateStore(OAuthStateStore):
    def __init__(self, expiration_seconds: int = 600) -> None:
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return logger

    def issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        expire_at = timezone.now() + timedelta(seconds=self.expiration_seconds)
        SlackOAuthState.objects.create(state=state, expire_at=expire_at)
        return state

    def consume(self, state: str) -> bool:
        """True once for a state we issued that has not expired (deleted as it is used)."""
        if not state or len(state) > 64:
            return False
        deleted, _ = SlackOAuthState.objects.filter(state=state, expire_at__gt=timezone.now()).delete()
        SlackOAuthState.objects.filter(expire_at__lte=timezone.now()).delete()
        return deleted == 1


def lookup(*, enterprise_id: str, team_id: str, active_only: bool) -> SlackInstallation | None:
    """The workspace's own row, else its org's org-wide install."""
    qs = SlackInstallation.objects.all()
    if active_only:
        qs = qs.filter(active=True)
    row = qs.filter(team_id=team_id, enterprise_id=enterprise_id).first() if team_id else None
    if row is None and enterprise_id:
        row = qs.filter(Q(enterprise_id=enterprise_id, is_enterprise_install=True)).first()
    return row


def installation_losses(*, installation: Installation, installer_is_admin: bool | None) -> list[str]:
    """What saving `installation` would take away from the active install it replaces: the
    admin token deletions run on, or scopes. Empty for a first install or an upgrade. A reinstall
    by a member (or one without user scopes) would otherwise silently stop every deletion."""
    row = SlackInstallation.objects.filter(
        enterprise_id=installation.enterprise_id or "",
        team_id="" if installation.is_enterprise_install else installation.team_id or "",
        active=True,
    ).first()
    if row is None:
        return []
    losses = []
    if row.has_admin_token and not installation.user_token:
        losses.append("the admin user token: deleting members' messages will stop")
    elif row.has_admin_token and installer_is_admin is False:
        losses.append(
            "the admin user token (the installer is not a workspace admin or owner): "
            "deleting members' messages will stop"
        )
    for kind, before, after in (
        ("bot", row.bot_scopes, installation.bot_scopes),
        ("user", row.user_scopes, installation.user_scopes),
    ):
        missing = sorted({s for s in before.split(",") if s} - set(after or []))
        if missing:
            losses.append(f"{kind} scope(s) {', '.join(missing)}")
    return losses


def installation_disable(*, enterprise_id: str, team_id: str, reason: str) -> int:
    """app_uninstalled / tokens_revoked: the tokens are dead at Slack, so forget them."""
    rows = SlackInstallation.objects.filter(enterprise_id=enterprise_id, team_id=team_id)
    if not team_id:
        rows = SlackInstallation.objects.filter(enterprise_id=enterprise_id, is_enterprise_install=True)
    n = rows.update(
        active=False, disabled_reason=reason[:200], bot_token_encrypted="", user_token_encrypted=""
    )
    logger.info("slack installation disabled", extra={"fields": {"team": team_id, "rows": n, "why": reason}})
    return n


def tokens_revoke(*, enterprise_id: str, team_id: str, user_ids: list[str], bot_user_ids: list[str]) -> None:
    """tokens_revoked lists user ids whose user (oauth) or bot tokens were revoked."""
    row = lookup(enterprise_id=enterprise_id, team_id=team_id, active_only=False)
    if row is None:
        return
    if row.bot_user_id and row.bot_user_id in bot_user_ids:
        installation_disable(enterprise_id=row.enterprise_id, team_id=row.team_id, reason="bot token revoked")
    elif row.user_id and row.user_id in user_ids:
        row.user_token = ""
        row.save(update_fields=["user_token_encrypted", "updated_at"])


@dataclass(frozen=True)
class Tokens:
    bot: str
    user: str  # an admin's user token: the only kind Slack lets delete a member's message
    source: str  # "installation", "environment" or "none"


def workspace_tokens(*, team_id: str, enterprise_id: str = "") -> Tokens:
    row = lookup(enterprise_id=enterprise_id, team_id=team_id, active_only=False)
    if row is not None:
        if not row.active:
            return Tokens("", "", "none")
        return Tokens(row.bot_token, row.user_token, "installation")
    if settings.SLACK_BOT_TOKEN:
        return Tokens(settings.SLACK_BOT_TOKEN, settings.SLACK_USER_TOKEN, "environment")
    return Tokens("", "", "none")

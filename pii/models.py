"""What the PII flow keeps: ids, counts, redacted excerpts and outcomes; never the raw text."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import models

from pii.findings import TYPES


class SlackEvent(models.Model):
    """One row per Slack event id: Slack delivers at least once (and retries with
    X-Slack-Retry-Num), the unique constraint makes the second delivery a no-op."""

    event_id = models.CharField(max_length=64, unique=True)
    team_id = models.CharField(max_length=32, blank=True, default="")
    job_id = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.event_id


class DetectionStatus(models.TextChoices):
    PENDING = "pending"  # found, actions not (all) done yet
    ACTIONED = "actioned"  # message removed and author told
    PARTIAL = "partial"  # an action failed permanently (e.g. cant_delete_message)
    GONE = "gone"  # the message was already deleted: nothing left to do
    FAILED = "failed"  # Slack refused our token: see reason


class Detection(models.Model):
    """PII found in a message (or in a file shared with it) and what was done about it."""

    class Source(models.TextChoices):
        MESSAGE = "message"
        FILE = "file"

    team_id = models.CharField("workspace", max_length=32, db_index=True)
    channel = models.CharField(max_length=32)
    user = models.CharField(max_length=32, db_index=True)
    ts = models.CharField("message ts", max_length=32)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MESSAGE)
    file_id = models.CharField(max_length=32, blank=True, default="")
    types = models.JSONField(default=dict, help_text="PII type -> count")
    redacted_excerpt = models.TextField(blank=True, default="")
    actions = models.JSONField(default=dict, help_text="action -> outcome")
    status = models.CharField(
        max_length=10, choices=DetectionStatus.choices, default=DetectionStatus.PENDING, db_index=True
    )
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "channel", "ts", "source", "file_id"],
                name="pii_detection_once_per_message_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.channel}/{self.ts} {self.types_label}"

    @property
    def types_label(self) -> str:
        return ", ".join(f"{t}×{n}" for t, n in sorted(self.types.items()))


class FileScanStatus(models.TextChoices):
    CLEAN = "clean"
    PII_FOUND = "pii_found"
    NOT_SCANNED = "not_scanned"
    FAILED = "failed"


class FileScan(models.Model):
    """Each file shared in a message: scanned or not, and why. No file name (it may be PII)."""

    team_id = models.CharField(max_length=32)
    channel = models.CharField(max_length=32)
    ts = models.CharField(max_length=32)
    file_id = models.CharField(max_length=32)
    filetype = models.CharField(max_length=40, blank=True, default="")
    mimetype = models.CharField(max_length=120, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=FileScanStatus.choices, db_index=True)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "channel", "ts", "file_id"], name="pii_filescan_once_per_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_id} {self.status}"


class SlackInstallation(models.Model):
    """One workspace (or org-wide install) of the app, from Slack's OAuth v2 flow: the bot token
    and the installing admin's user token (Slack lets only a user token of an admin or owner
    delete a member's message). Tokens are Fernet-encrypted (pii.crypto); a database dump or the
    admin never shows one. `active` goes False on app_uninstalled / tokens_revoked."""

    enterprise_id = models.CharField(max_length=32, blank=True, default="")
    team_id = models.CharField(max_length=32, blank=True, default="")
    team_name = models.CharField(max_length=200, blank=True, default="")
    is_enterprise_install = models.BooleanField(default=False)
    app_id = models.CharField(max_length=32, blank=True, default="")
    bot_id = models.CharField(max_length=32, blank=True, default="")
    bot_user_id = models.CharField(max_length=32, blank=True, default="")
    bot_scopes = models.TextField(blank=True, default="")
    bot_token_encrypted = models.TextField(blank=True, default="", editable=False)
    user_id = models.CharField("installed by", max_length=32, blank=True, default="")
    # users.info at install: only an admin's or owner's user token can remove members' messages.
    installer_is_admin = models.BooleanField(null=True, default=None)
    user_scopes = models.TextField(blank=True, default="")
    user_token_encrypted = models.TextField(blank=True, default="", editable=False)
    active = models.BooleanField(default=True, db_index=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise_id", "team_id"], name="pii_slackinstallation_one_per_workspace"
            ),
        ]
        # Installing replaces the tokens deletion runs on: not something every staff login may do.
        permissions = [("install_slack_app", "Can install or reinstall the Slack app (replaces its tokens)")]

    def __str__(self) -> str:
        return self.team_id or self.enterprise_id

    @property
    def bot_token(self) -> str:
        from pii import crypto

        return crypto.decrypt(self.bot_token_encrypted)

    @bot_token.setter
    def bot_token(self, value: str) -> None:
        from pii import crypto

        self.bot_token_encrypted = crypto.encrypt(value)

    @property
    def user_token(self) -> str:
        from pii import crypto

        return crypto.decrypt(self.user_token_encrypted)

    @user_token.setter
    def user_token(self, value: str) -> None:
        from pii import crypto

        self.user_token_encrypted = crypto.encrypt(value)

    @property
    def has_admin_token(self) -> bool:
        return bool(self.user_token_encrypted) and self.installer_is_admin is not False


class SlackOAuthState(models.Model):
    """An OAuth `state` issued by /slack/install, consumed once by /slack/oauth_redirect."""

    state = models.CharField(max_length=64, unique=True)
    expire_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"state until {self.expire_at:%Y-%m-%d %H:%M}"


# Defaults are the environment's values, read when an unsaved record is made (pii.config).
def _env_enabled() -> bool:
    return django_settings.PII_DETECTION_ENABLED


def _env_types() -> list[str]:
    return list(django_settings.PII_TYPES)


def _env_action() -> str:
    return django_settings.PII_FINDING_ACTION


class PiiSettings(models.Model):
    """What the detector does, changeable at run time (one record, pk 1): read by every scan."""

    class Action(models.TextChoices):
        DELETE = "delete", "Delete the message or file, then tell the author"
        NOTIFY = "notify", "Tell the author only (nothing is deleted)"

    detection_enabled = models.BooleanField("PII detection on", default=_env_enabled)
    types = models.JSONField(
        "types looked for", default=_env_types, help_text="A finding of any other type is ignored."
    )
    finding_action = models.CharField(
        "what a finding does", max_length=8, choices=Action.choices, default=_env_action
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "PII settings"
        verbose_name_plural = "PII settings"

    def __str__(self) -> str:
        return "PII settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not isinstance(self.types, list) or not all(isinstance(t, str) for t in self.types):
            raise ValidationError({"types": "a list of PII types"})
        unknown = sorted(set(self.types) - set(TYPES))
        if unknown:
            raise ValidationError(
                {"types": f"unknown type(s) {', '.join(unknown)}; known: {', '.join(TYPES)}"}
            )
        if self.detection_enabled and not self.types:
            raise ValidationError({"types": "choose at least one type, or switch PII detection off"})

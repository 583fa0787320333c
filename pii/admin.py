"""Read-only views of what the PII flow did. Lists show ids, types and outcomes only; the
redacted excerpt (already without PII) appears on the detail page."""

from __future__ import annotations

from django.contrib import admin

from pii import admin_settings  # noqa: F401  (registers the PII settings page)
from pii.models import Detection, FileScan, SlackEvent, SlackInstallation


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Detection)
class DetectionAdmin(ReadOnly):
    list_display = (
        "created_at",
        "team_id",
        "channel",
        "user",
        "ts",
        "source",
        "types_label",
        "status",
        "actions",
        "reason",
    )
    list_filter = ("status", "source", "team_id")
    search_fields = ("team_id", "channel", "user", "ts")
    date_hierarchy = "created_at"


@admin.register(FileScan)
class FileScanAdmin(ReadOnly):
    list_display = (
        "created_at",
        "team_id",
        "channel",
        "ts",
        "file_id",
        "filetype",
        "size",
        "status",
        "reason",
    )
    list_filter = ("status", "filetype")


@admin.register(SlackEvent)
class SlackEventAdmin(ReadOnly):
    list_display = ("received_at", "event_id", "team_id", "job_id")
    search_fields = ("event_id",)


@admin.register(SlackInstallation)
class SlackInstallationAdmin(ReadOnly):
    """Which workspaces are installed and whether deletion can work there; never a token."""

    list_display = (
        "team_id",
        "team_name",
        "enterprise_id",
        "active",
        "admin_token",
        "user_id",
        "disabled_reason",
        "installed_at",
    )
    list_filter = ("active",)
    exclude = ("bot_token_encrypted", "user_token_encrypted")

    @admin.display(boolean=True, description="admin token (can delete)")
    def admin_token(self, obj: SlackInstallation) -> bool:
        return obj.has_admin_token

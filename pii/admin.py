"""Read-only views of what the PII flow did. Lists show ids, types and outcomes only; the
redacted excerpt (already without PII) appears on the detail page."""

from __future__ import annotations

from django.contrib import admin

from pii.models import Detection, FileScan, SlackEvent


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

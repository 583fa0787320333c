"""The processing-stats page: a custom admin view under "Queue handlers" (staff login)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from queue_handlers.models import HandlerStats
from queue_handlers.monitoring import get_processing_stats, health_check
from queue_handlers.registry import list_handlers

WINDOWS = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400}


@admin.register(HandlerStats)
class HandlerStatsAdmin(admin.ModelAdmin):
    """No rows: the changelist is the stats page. Counts and timings only, never payloads."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        chosen = request.GET.get("window", "1h")
        window = WINDOWS.get(chosen, 3600)
        context = {
            **self.admin_site.each_context(request),
            "title": "Handler processing stats",
            "opts": self.model._meta,
            "stats": get_processing_stats(window=window),
            "health": health_check(),
            "handlers": list_handlers(),
            "windows": list(WINDOWS),
            "window": chosen if chosen in WINDOWS else "1h",
        }
        return TemplateResponse(request, "admin/queue_handlers/stats.html", context)

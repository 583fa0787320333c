"""The processing-stats page: a custom admin view under "Queue handlers" (staff login)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from project.settings_admin import change_message, recent_changes_html
from queue_handlers.models import HandlerRateLimit, HandlerStats
from queue_handlers.monitoring import get_processing_stats, health_check
from queue_handlers.registry import default_rate_limit_for, known_types, list_handlers

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


class HandlerRateLimitForm(forms.ModelForm):
    job_type = forms.ChoiceField(label="Job type")

    class Meta:
        model = HandlerRateLimit
        fields = ["job_type", "rate_limit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each type with the limit that applies without this page (environment, else handler).
        self.fields["job_type"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (t, f"{t} (default: {default_rate_limit_for(t) or 'no limit'})") for t in known_types()
        ]
        if self.instance.pk:
            self.fields["job_type"].disabled = True


@admin.register(HandlerRateLimit)
class HandlerRateLimitAdmin(admin.ModelAdmin):
    """Per-type limits, changed at run time: the worker reads them at each job start. Every
    save and delete is in the admin log, naming the old and new limit."""

    form = HandlerRateLimitForm
    list_display = ["job_type", "limit_shown", "default_shown", "updated_at"]
    readonly_fields = ["recent_changes"]
    fields = ["job_type", "rate_limit", "recent_changes"]

    @admin.display(description="rate limit", ordering="rate_limit")
    def limit_shown(self, obj: HandlerRateLimit) -> str:
        return obj.rate_limit or "no limit"

    @admin.display(description="without this row")
    def default_shown(self, obj: HandlerRateLimit) -> str:
        return default_rate_limit_for(obj.job_type) or "no limit"

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        if add:
            job_type, limit = form.cleaned_data["job_type"], form.cleaned_data["rate_limit"]
            before = default_rate_limit_for(job_type) or "no limit"
            return f"Set {job_type}: {before} (default) → {limit or 'no limit'}."
        return change_message(form, add=False)

    @admin.display(description="Recent changes")
    def recent_changes(self, obj: HandlerRateLimit | None) -> str:
        return recent_changes_html(obj)

"""The admin page of an app's run-time settings record (invoices, pii): one record per app, edited
on one page, checked by the app's own validation before anything is saved, and audited — every
save writes Django's admin log entry naming each changed field with its old and new value, and
the page lists the latest entries (the History button shows them all).

The record does not exist until someone saves it: until then the app runs on its environment's
values, and the page opens as an "add" form filled with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join


class SettingsForm(forms.ModelForm):
    """Runs the app's validation (`validator(obj=...)` raising an error with `.errors`, a dict of
    field → messages) on the filled-in record, so a refusal shows beside its field."""

    validator: Callable[..., None] | None = None

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # BaseModelForm's hook, missing from the stubs
        if self.errors or type(self).validator is None:
            return
        try:
            type(self).validator(obj=self.instance)  # type: ignore[misc]
        except ValueError as exc:
            for name, messages in getattr(exc, "errors", {None: [str(exc)]}).items():
                for message in messages:
                    if name in self.fields and name not in self.errors:
                        self.add_error(name, message)
                    elif name not in self.fields:
                        self.add_error(None, f"{name}: {message}" if name else message)


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return "(empty)" if value in (None, "") else str(value)


def change_message(form: forms.ModelForm, *, add: bool) -> str:
    """'Changed celery backlog: 100 → 50; retry delay (s): 30 → 10.' Field labels, not names."""
    parts = []
    # A first save is compared with what applied until then: a fresh record's (environment) values.
    before = form._meta.model() if add else None
    for name in form.changed_data if not add else form.fields:
        old = getattr(before, name) if before is not None else form.initial.get(name)
        new = form.cleaned_data.get(name)
        if old == new:  # a field whose default is callable may report a change that is none
            continue
        parts.append(f"{form.fields[name].label or name}: {_shown(old)} → {_shown(new)}")
    head = "Saved (the environment's values until now)" if add else "Changed"
    return f"{head}: {'; '.join(parts)}." if parts else f"{head}: nothing."


class RunTimeSettingsAdmin(admin.ModelAdmin):
    """For a one-record settings model whose save() keeps pk 1. The page shows the form's fields
    under `description` (say when a change counts and which environment values apply until the
    first save), then the audit."""

    description = ""

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.form._meta.fields or ())
        return [
            (None, {"fields": fields, "description": self.description}),
            ("Audit", {"fields": ["recent_changes"]}),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not self.model._default_manager.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        opts = self.model._meta
        if self.model._default_manager.filter(pk=1).exists():
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[1]))
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        return change_message(form, add=add)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "recent_changes"]

    @admin.display(description="Recent changes")
    def recent_changes(self, obj: models.Model | None) -> str:
        return recent_changes_html(obj)


def recent_changes_html(obj: models.Model | None, *, limit: int = 10) -> str:
    """The latest admin log entries of this record: when, who, and what changed from what."""
    if obj is None or obj.pk is None:
        return "none yet: the environment's values apply"
    entries = (
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        .select_related("user")
        .order_by("-action_time")[:limit]
    )
    rows = [
        (f"{e.action_time:%Y-%m-%d %H:%M:%S %Z}", e.user.get_username(), e.get_change_message())
        for e in entries
    ]
    return format_html_join("", "<div>{} — {}: {}</div>", rows) if rows else "none"

"""Admin: the settings record (one page), the suppression list (editable), and read-only views
of the e-mail log, events and quarantined messages. List views show masked addresses only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from emails.config import email_settings_get, email_settings_save, poll_periodic_task
from emails.models import (
    EmailEvent,
    EmailLog,
    EmailSettings,
    PollState,
    QuarantinedMessage,
    Suppression,
    mask_address,
)


@admin.register(EmailSettings)
class EmailSettingsAdmin(admin.ModelAdmin):
    """One record: the list page goes straight to it. Saving updates the beat row in the same
    transaction (the admin wraps the save in one)."""

    fieldsets = [
        ("Switches", {"fields": ["system_enabled", "ses_events_enabled", "sqs_polling_enabled"]}),
        (
            "Polling",
            {
                "fields": [
                    "polling_interval_ms",
                    "max_messages_per_poll",
                    "wait_time_seconds",
                    "poll_budget_seconds",
                ]
            },
        ),
        (
            "Queue",
            {
                "fields": ["queue_url", "aws_region"],
                "description": "AWS credentials come from the environment or boto3's "
                "default chain; they are never stored here.",
            },
        ),
        ("State", {"fields": ["beat_row", "last_poll"]}),
    ]
    readonly_fields = ["beat_row", "last_poll"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not EmailSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        obj = email_settings_get()
        return HttpResponseRedirect(reverse("admin:emails_emailsettings_change", args=[obj.pk]))

    def save_model(self, request, obj, form, change) -> None:
        email_settings_save(obj=obj)

    @admin.display(description="Beat row")
    def beat_row(self, obj: EmailSettings) -> str:
        task = poll_periodic_task()
        if task is None:
            return "missing (saved on the next change)"
        every = task.interval.every if task.interval else "?"
        return f"{task.name}: {'enabled' if task.enabled else 'disabled'}, every {every} s"

    @admin.display(description="Last poll")
    def last_poll(self, obj: EmailSettings) -> str:
        state = PollState.objects.filter(pk=1).first()
        if state is None or state.last_run_at is None:
            return "never"
        return f"{state.last_run_at:%Y-%m-%d %H:%M:%S %Z} {state.last_result}"


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["masked_address", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["=address"]  # exact match: find one address without listing them all
    fields = ["address", "reason", "detail", "created_at"]
    readonly_fields = ["created_at"]

    @admin.display(description="Address", ordering="address")
    def masked_address(self, obj: Suppression) -> str:
        return mask_address(obj.address)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EmailLog)
class EmailLogAdmin(ReadOnlyAdmin):
    list_display = [
        "ses_message_id",
        "status",
        "sent_at",
        "delivered_at",
        "bounced_at",
        "open_count",
        "click_count",
        "last_event_at",
    ]
    list_filter = ["status"]
    search_fields = ["=ses_message_id"]
    date_hierarchy = "created_at"


@admin.register(EmailEvent)
class EmailEventAdmin(ReadOnlyAdmin):
    list_display = [
        "event_type",
        "sub_type",
        "ses_message_id",
        "masked_recipient",
        "occurred_at",
        "format",
        "delivery",
    ]
    list_filter = ["event_type", "format", "delivery"]
    search_fields = ["=ses_message_id", "=sns_message_id"]

    @admin.display(description="Recipient")
    def masked_recipient(self, obj: EmailEvent) -> str:
        return mask_address(obj.recipient)


@admin.register(QuarantinedMessage)
class QuarantinedMessageAdmin(admin.ModelAdmin):
    list_display = ["sqs_message_id", "reason", "body_bytes", "reviewed", "received_at"]
    list_filter = ["reviewed"]
    search_fields = ["=sqs_message_id"]
    readonly_fields = ["sqs_message_id", "reason", "body", "body_bytes", "body_truncated", "received_at"]
    actions = ["mark_reviewed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark reviewed (no longer counted in status)", permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset) -> None:
        n = queryset.update(reviewed=True)
        self.message_user(request, f"{n} message(s) marked reviewed", messages.SUCCESS)

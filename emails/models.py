"""E-mail log, SES events, quarantined messages, the suppression list and the polling settings."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)
from django.db import models


class Suppression(models.Model):
    """An address this service must not send to (hard bounce, complaint, or added by hand)."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce"
        COMPLAINT = "complaint"
        MANUAL = "manual"

    address = models.EmailField(unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices, db_index=True)
    detail = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{mask_address(self.address)} ({self.reason})"

    def save(self, *args, **kwargs) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)


class EventType(models.TextChoices):
    """SES event types; values are ours, labels are SES's own spelling."""

    SEND = "send", "Send"
    REJECT = "reject", "Reject"
    BOUNCE = "bounce", "Bounce"
    COMPLAINT = "complaint", "Complaint"
    DELIVERY = "delivery", "Delivery"
    OPEN = "open", "Open"
    CLICK = "click", "Click"
    RENDERING_FAILURE = "rendering_failure", "Rendering Failure"
    DELIVERY_DELAY = "delivery_delay", "DeliveryDelay"
    SUBSCRIPTION = "subscription", "Subscription"


class EmailStatus(models.TextChoices):
    """Where a sent message stands. Each has a rank; an e-mail only ever moves up (see RANK)."""

    SENT = "sent"
    DELIVERY_DELAYED = "delivery_delayed"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    RENDERING_FAILED = "rendering_failed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# A late event never moves a message backwards: Delivery after Bounce stays bounced.
RANK = {
    EmailStatus.SENT: 10,
    EmailStatus.DELIVERY_DELAYED: 20,
    EmailStatus.DELIVERED: 30,
    EmailStatus.REJECTED: 40,
    EmailStatus.RENDERING_FAILED: 40,
    EmailStatus.BOUNCED: 50,
    EmailStatus.COMPLAINED: 60,
}


class EmailLog(models.Model):
    """One row per message SES sent, keyed by SES's message id; created by the first event seen
    for it when no sender recorded it first (events for unknown messages are kept)."""

    ses_message_id = models.CharField(max_length=200, unique=True)
    # Who sent it, when this service did: ("invoice_attempt", "<id>") or ("handler_job", "<job id>").
    # Written at send; empty for mail sent by others through the same SES account.
    origin = models.CharField(max_length=20, blank=True, default="", db_default="", db_index=True)
    origin_id = models.CharField(max_length=64, blank=True, default="", db_default="", db_index=True)
    status = models.CharField(
        max_length=20, choices=EmailStatus.choices, default=EmailStatus.SENT, db_index=True
    )
    status_rank = models.PositiveSmallIntegerField(default=RANK[EmailStatus.SENT])
    source = models.CharField(max_length=320, blank=True, default="")
    destination = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "e-mail log entry"
        verbose_name_plural = "e-mail log"

    def __str__(self) -> str:
        return f"{self.ses_message_id} ({self.status})"


class EmailEvent(models.Model):
    """One SES event, recorded exactly once: `sns_message_id` is SNS's MessageId, or for raw
    delivery "sha256:" + the body's hash (the same SES event re-sent has the same body)."""

    class Format(models.TextChoices):
        NOTIFICATION = "notification"  # notificationType: Bounce, Complaint, Delivery
        EVENT = "event"  # event publishing: eventType

    class Delivery(models.TextChoices):
        SNS = "sns"  # SNS envelope, raw delivery off
        RAW = "raw"  # raw delivery on: the SES JSON is the SQS body

    sns_message_id = models.CharField(max_length=100, unique=True)
    sqs_message_id = models.CharField(max_length=100, blank=True, default="")
    ses_message_id = models.CharField(max_length=200, db_index=True)
    event_type = models.CharField(max_length=20, choices=EventType.choices, db_index=True)
    sub_type = models.CharField(max_length=64, blank=True, default="")
    recipient = models.CharField(max_length=320, blank=True, default="")
    recipients = models.JSONField(default=list, blank=True)
    occurred_at = models.DateTimeField()
    format = models.CharField(max_length=16, choices=Format.choices)
    delivery = models.CharField(max_length=8, choices=Delivery.choices)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.ses_message_id}"


class QuarantinedMessage(models.Model):
    """An SQS message we could not use, kept raw with the reason for a person to look at."""

    sqs_message_id = models.CharField(max_length=100, unique=True)
    reason = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    body_bytes = models.PositiveIntegerField(default=0)
    body_truncated = models.BooleanField(default=False)
    reviewed = models.BooleanField(default=False, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.sqs_message_id}: {self.reason}"


_REGION = RegexValidator(r"^[a-z]{2}(-[a-z]+)+-\d+$", "not an AWS region name such as eu-north-1")


class EmailSettings(models.Model):
    """The one settings record (pk 1). Saved through emails.config.email_settings_save, which
    updates the beat row in the same transaction. AWS credentials never live here: they come
    from the environment or boto3's default chain."""

    system_enabled = models.BooleanField("e-mail system enabled", default=True)
    ses_events_enabled = models.BooleanField("SES events enabled", default=True)
    sqs_polling_enabled = models.BooleanField("SQS polling enabled", default=False)
    polling_interval_ms = models.PositiveIntegerField(
        default=5000,
        validators=[MinValueValidator(1000), MaxValueValidator(86_400_000)],
        help_text="Milliseconds between polls (at least 1000). Beat runs in whole seconds: "
        "the value is rounded to the nearest second.",
    )
    max_messages_per_poll = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Messages per SQS receive, 1-10 (SQS's own cap).",
    )
    wait_time_seconds = models.PositiveSmallIntegerField(
        default=5,
        validators=[MaxValueValidator(20)],
        help_text="SQS long-poll wait per receive, 0-20 seconds.",
    )
    poll_budget_seconds = models.PositiveSmallIntegerField(
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="A poll keeps receiving while messages come, for at most this long.",
    )
    queue_url = models.CharField(
        "SQS queue URL",
        max_length=500,
        blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
    )
    aws_region = models.CharField("AWS region", max_length=32, validators=[_REGION])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "e-mail settings"
        verbose_name_plural = "e-mail settings"

    def __str__(self) -> str:
        return "E-mail settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        if not self.aws_region:
            self.aws_region = django_settings.AWS_REGION
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.sqs_polling_enabled and not self.queue_url:
            raise ValidationError({"queue_url": "SQS polling needs a queue URL."})

    @property
    def polling_active(self) -> bool:
        """All three switches on: only then does beat schedule polls and a poll do work."""
        return self.system_enabled and self.ses_events_enabled and self.sqs_polling_enabled

    @property
    def interval_seconds(self) -> int:
        """Beat's interval: milliseconds rounded to the nearest second (half up), at least 1."""
        return max(1, (self.polling_interval_ms + 500) // 1000)


class PollState(models.Model):
    """The last poll and running totals (pk 1), kept apart from the settings record so a poll
    never overwrites an operator's edit and vice versa."""

    last_run_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    total_polls = models.BigIntegerField(default=0)
    total_received = models.BigIntegerField(default=0)
    total_recorded = models.BigIntegerField(default=0)
    total_duplicates = models.BigIntegerField(default=0)
    total_quarantined = models.BigIntegerField(default=0)
    total_ignored = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return "SQS poll state"


def mask_address(address: str) -> str:
    """j***@example.com: enough for an operator to recognise, not to harvest."""
    local, _, domain = (address or "").partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"

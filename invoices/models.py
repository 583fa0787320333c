"""Invoices, their lines, the e-mail attempts made for them and the payment links they carry."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings as django_settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round half-up to cents, the way an accountant expects (not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"
    VOID = "void"


class Invoice(models.Model):
    number = models.CharField(max_length=40, unique=True)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    currency = models.CharField(max_length=3, default="EUR")
    issue_date = models.DateField()
    due_date = models.DateField()
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]

    def __str__(self) -> str:
        return self.number

    def line_list(self) -> list[InvoiceLine]:
        # Use the prefetched lines when the caller prefetched them (admin, PDF of many invoices).
        return list(self.lines.all()) if self.pk else []

    @property
    def subtotal(self) -> Decimal:
        return money(sum((line.amount for line in self.line_list()), Decimal("0")))

    @property
    def tax_total(self) -> Decimal:
        return money(sum((line.tax_amount for line in self.line_list()), Decimal("0")))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=3, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="percent, e.g. 23.00",
        validators=[MinValueValidator(0)],
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        if self.quantity is None or self.unit_price is None:  # a blank row in the admin form
            return Decimal("0.00")
        return money(Decimal(self.quantity) * Decimal(self.unit_price))

    @property
    def tax_amount(self) -> Decimal:
        return money(self.amount * Decimal(self.tax_rate or 0) / Decimal(100))


class EmailKind(models.TextChoices):
    """What an e-mail is for; the kind decides nothing but what the worker renders."""

    INVOICE = "invoice"
    VERIFICATION = "verification"
    PASSWORD_RESET = "password_reset"
    ACCOUNT = "account"
    NOTIFICATION = "notification"


class AttemptStatus(models.TextChoices):
    QUEUED = "queued"  # the row exists; its queue message is out (or about to be)
    SENDING = "sending"  # claimed by one worker (conditional update), nobody else sends it
    RETRYING = "retrying"  # a transient failure; the queue delivers it again
    SENT = "sent"
    FAILED = "failed"  # permanent: retrying will not help
    # Gave up after the redrive count: the message is in the dead-letter queue (or the Celery
    # job failed). A redrive, or a retry of the job, may still send it.
    DEAD_LETTERED = "dead_lettered"
    SUPPRESSED = "suppressed"  # the recipient is on the suppression list


class EmailAttempt(models.Model):
    """One e-mail to send, and what happened to it. The queue message names only this row's id,
    so a message is small, carries no PII, and a redelivered one finds the row already sent."""

    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    kind = models.CharField(max_length=20, choices=EmailKind.choices, default=EmailKind.INVOICE)
    recipient = models.EmailField()
    # Content for non-invoice kinds; an invoice e-mail is rendered by the worker from the invoice.
    subject = models.CharField(max_length=300, blank=True, default="")
    body_text = models.TextField(blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    # Mail handed over by Django's mail API (invoices.mail_backend): the whole MIME message and its
    # envelope, encrypted at rest (a password-reset link is a credential), cleared once sent.
    sealed_message = models.TextField(blank=True, default="", db_default="", editable=False)
    priority = models.PositiveSmallIntegerField()
    queue = models.CharField(max_length=10)  # priority | regular
    provider = models.CharField(max_length=10, default="")  # sqs | celery, when queued
    queue_message_id = models.CharField(max_length=100, blank=True, default="")
    # When the queue (SQS, or Celery for QUEUE_PROVIDER=celery) accepted the message. Empty on a
    # committed row means "not yet handed over": the process may have died between the commit and
    # SendMessage, so invoices.relay publishes such rows once they are older than a bound.
    published_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=14, choices=AttemptStatus.choices, default=AttemptStatus.QUEUED, db_index=True
    )
    deliveries = models.PositiveIntegerField(default=0, help_text="times a worker took it")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    # Which e-mail backend sent it (smtp, ses, outbox …), so a person knows where to look.
    backend = models.CharField(max_length=40, blank=True, default="", db_default="")
    # What SES said afterwards (from the e-mail log's events): delivered, bounced, complained.
    delivery_status = models.CharField(max_length=20, blank=True, default="", db_default="", db_index=True)
    delivery_status_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # SQS provider: set while a handle job for this attempt waits in Celery (the poll's
    # backpressure counts these), and the newest receipt handle SQS gave for its message, so
    # whichever job deletes it uses a handle that still works.
    handed_off_at = models.DateTimeField(null=True, blank=True)
    receipt_handle = models.TextField(blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["queue", "status", "created_at"]),
            models.Index(fields=["queue", "handed_off_at"]),
            models.Index(
                fields=["created_at"],
                condition=models.Q(published_at__isnull=True, status="queued"),
                name="invoices_attempt_unpublished",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.kind}, {self.status})"


class PaymentLink(models.Model):
    """The token is shown once, in the e-mail; only its SHA-256 is kept, so a database leak
    gives nobody a working link."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payment_links")
    attempt = models.OneToOneField(
        EmailAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_link"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"payment link {self.pk} for {self.invoice_id}"


class RejectedMessage(models.Model):
    """A queue message that could not be understood: kept raw for a person, then deleted from
    the queue so it is never retried forever."""

    queue = models.CharField(max_length=10)
    message_id = models.CharField(max_length=100)
    body = models.TextField()
    reason = models.CharField(max_length=300)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "message_id"], name="invoices_rejected_once_per_message")
        ]

    def __str__(self) -> str:
        return f"{self.queue}:{self.message_id}"


# The settings record's defaults are the environment's values, read when an unsaved record is
# made: a deployment that never saves the record in the admin runs exactly as configured.
def _env_queue_provider() -> str:
    return django_settings.QUEUE_PROVIDER


def _env_celery_backlog() -> int:
    return django_settings.INVOICES_CELERY_BACKLOG


def _env_retry_base_delay() -> int:
    return django_settings.INVOICES_RETRY_BASE_DELAY


class InvoiceSettings(models.Model):
    """The invoice mail settings an operator may change at run time (one record, pk 1). Read
    at each poll, send and enqueue (invoices.config), so a change counts within seconds."""

    class Provider(models.TextChoices):
        SQS = "sqs", "SQS (priority and regular queues)"
        CELERY = "celery", "Celery queues invoices_priority / invoices_regular (no SQS)"

    queue_provider = models.CharField(
        max_length=10,
        choices=Provider.choices,
        default=_env_queue_provider,
        help_text="Where new e-mail attempts are queued. Attempts already queued finish where "
        "they are (the SQS poll goes on while SQS attempts are waiting).",
    )
    celery_backlog = models.PositiveIntegerField(
        "Celery backlog",
        default=_env_celery_backlog,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text="Backpressure: regular mail is taken off SQS only while fewer than this many "
        "sends wait in Celery.",
    )
    retry_base_delay = models.PositiveIntegerField(
        "retry delay (s)",
        default=_env_retry_base_delay,
        validators=[MaxValueValidator(43_200)],
        help_text="After a transient send failure the e-mail is tried again after this many "
        "seconds, doubling with each try (SQS caps a wait at 43200 s, 12 h).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "invoice mail settings"
        verbose_name_plural = "invoice mail settings"

    def __str__(self) -> str:
        return "Invoice mail settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

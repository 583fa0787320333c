"""Invoices with their lines and e-mail attempts; an Email button and an action for several.
List views show numbers and states, never a customer's name or address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from emails.suppression import SuppressedAddressError
from invoices import admin_settings  # noqa: F401  (registers the settings page)
from invoices.admin_outbox import outbox_urls
from invoices.exceptions import QueueError
from invoices.models import AttemptStatus, EmailAttempt, Invoice, InvoiceLine, RejectedMessage
from invoices.queues import invoice_email_queue, invoices_email_queue

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups  # the stubs' name for get_fields' return


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 1
    fields = ("position", "description", "quantity", "unit_price", "tax_rate", "amount")
    readonly_fields = ("amount",)


class EmailAttemptInline(admin.TabularInline):
    model = EmailAttempt
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "queue",
        "priority",
        "status",
        "deliveries",
        "sent_at",
        "backend",
        "delivery_status",
        "provider_message_id",
        "error",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "total_display", "issue_date", "due_date", "last_email")
    list_filter = ("status", "currency", "issue_date")
    search_fields = ("number",)
    date_hierarchy = "issue_date"
    readonly_fields = ("subtotal", "tax_total", "total", "created_at", "updated_at")
    inlines = [InvoiceLineInline, EmailAttemptInline]
    actions = ["email_invoices"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description="total")
    def total_display(self, obj: Invoice) -> str:
        return f"{obj.total} {obj.currency}"

    @admin.display(description="last e-mail")
    def last_email(self, obj: Invoice) -> str:
        attempt = obj.attempts.order_by("-created_at").first()
        return attempt.status if attempt else "-"

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(require_POST(self.email_view))
        return [
            *outbox_urls(self.admin_site),
            path("<path:object_id>/email/", view, name="invoices_invoice_email"),
            *super().get_urls(),
        ]

    def email_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """An invoice already e-mailed is sent again only after the person confirms."""
        invoice = get_object_or_404(Invoice, pk=object_id)
        if not self.has_change_permission(request, invoice):
            raise PermissionDenied
        sent = invoice.attempts.filter(status=AttemptStatus.SENT).order_by("-sent_at").first()
        if sent is not None and request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": f"Send invoice {invoice.number} again?",
                "invoice": invoice,
                "sent": sent,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/invoices/invoice/resend_confirm.html", context)
        self._email(request, invoice)
        return HttpResponseRedirect(reverse("admin:invoices_invoice_change", args=[invoice.pk]))

    @admin.action(description="Email selected invoices", permissions=["change"])
    def email_invoices(self, request: HttpRequest, queryset: QuerySet) -> None:
        todo = []
        sent = set(
            EmailAttempt.objects.filter(invoice__in=queryset, status=AttemptStatus.SENT).values_list(
                "invoice_id", flat=True
            )
        )
        for invoice in queryset.order_by("pk"):
            if invoice.pk in sent:
                self.message_user(
                    request,
                    f"Invoice {invoice.number} was already sent: not sent again "
                    "(use its Email button, which asks first).",
                    messages.WARNING,
                )
            else:
                todo.append(invoice)
        queued = []
        for invoice, result in zip(todo, invoices_email_queue(invoices=todo), strict=True):
            if isinstance(result, SuppressedAddressError):
                self.message_user(request, f"Invoice {invoice.number} not sent: {result}", messages.ERROR)
            elif isinstance(result, ValueError):
                self.message_user(request, f"Invoice {invoice.number} not queued: {result}", messages.ERROR)
            elif result.status == AttemptStatus.FAILED:  # SQS refused it (attempts_publish says why)
                self.message_user(
                    request, f"Invoice {invoice.number} not queued: {result.error}", messages.ERROR
                )
            else:
                queued.append(invoice.number)
        if queued:
            shown = ", ".join(queued[:20]) + (f" and {len(queued) - 20} more" if len(queued) > 20 else "")
            self.message_user(
                request, f"{len(queued)} invoice(s) queued for e-mail: {shown}.", messages.SUCCESS
            )

    def _email(self, request: HttpRequest, invoice: Invoice) -> None:
        try:
            attempt = invoice_email_queue(invoice=invoice)
        except SuppressedAddressError as exc:
            self.message_user(request, f"Invoice {invoice.number} not sent: {exc}", messages.ERROR)
        except (QueueError, ValueError) as exc:
            self.message_user(request, f"Invoice {invoice.number} not queued: {exc}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"Invoice {invoice.number} queued for e-mail (attempt {attempt.pk}, {attempt.queue} queue).",
                messages.SUCCESS,
            )


@admin.register(EmailAttempt)
class EmailAttemptAdmin(admin.ModelAdmin):
    # Seven columns fit beside the sidebar and the filters at 1,280 px; priority follows the queue,
    # and backend and kind are filters (the attempt's page shows them and its deliveries).
    list_display = ("id", "invoice", "queue", "status", "delivery_status", "created_at", "sent_at")
    list_filter = ("status", "delivery_status", "queue", "kind", "provider", "backend")
    search_fields = ("=id", "invoice__number", "provider_message_id")
    list_select_related = ("invoice",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name not in ("receipt_handle", "sealed_message")]

    def get_fields(self, request: HttpRequest, obj: object = None) -> _FieldGroups:
        # sealed_message: a whole e-mail (a password reset link) encrypted; never shown.
        hidden = ("id", "receipt_handle", "sealed_message")
        return [f.name for f in self.model._meta.fields if f.name not in hidden]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "queue", "message_id", "reason")
    list_filter = ("queue",)
    readonly_fields = ("received_at", "queue", "message_id", "reason", "body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

"""The invoice mail settings page (Invoices → Invoice mail settings): queue provider, backlog,
retry delay; checked by invoices.config before saving, audited in the admin log."""

from __future__ import annotations

from django.contrib import admin

from invoices.config import invoice_settings_validate
from invoices.models import InvoiceSettings
from project.settings_admin import RunTimeSettingsAdmin, SettingsForm


class InvoiceSettingsForm(SettingsForm):
    validator = staticmethod(invoice_settings_validate)

    class Meta:
        model = InvoiceSettings
        fields = ["queue_provider", "celery_backlog", "retry_base_delay"]


@admin.register(InvoiceSettings)
class InvoiceSettingsAdmin(RunTimeSettingsAdmin):
    form = InvoiceSettingsForm
    description = (
        "Read at every poll and send: a change counts within seconds, no "
        "restart. Until saved here, the environment's values apply (QUEUE_PROVIDER, "
        "INVOICES_CELERY_BACKLOG, INVOICES_RETRY_BASE_DELAY)."
    )

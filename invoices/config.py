"""The invoice mail settings record: read at each run, changed through the admin (or
`invoice_settings_update`), validated before anything is saved.

With no saved record the environment's values apply (an unsaved record built from them), so a
deployment that never opens the admin behaves as its environment says; once saved in the admin,
the record wins over the environment.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from invoices.exceptions import QueueError
from invoices.models import InvoiceSettings

EDITABLE = {"queue_provider", "celery_backlog", "retry_base_delay"}


class InvoiceSettingsError(ValueError):
    """A change was refused; nothing was saved. `errors` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(
            "invalid invoice settings: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        )


def invoice_settings_get() -> InvoiceSettings:
    return InvoiceSettings.objects.filter(pk=1).first() or InvoiceSettings()


def invoice_settings_validate(*, obj: InvoiceSettings) -> None:
    """Field rules, and SQS chosen only when both queues can be found (the admin shows why not)."""
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if obj.queue_provider == InvoiceSettings.Provider.SQS and "queue_provider" not in errors:
        from invoices.queues import QUEUES, queue_url

        for queue in QUEUES:
            try:
                queue_url(queue)
            except QueueError as exc:
                errors.setdefault("queue_provider", []).append(f"SQS is not ready: {exc}")
                break
    if errors:
        raise InvoiceSettingsError(errors)


def invoice_settings_update(**changes: Any) -> InvoiceSettings:
    """Change settings by name, e.g. `invoice_settings_update(celery_backlog=50)`."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvoiceSettingsError({k: ["not a setting"] for k in sorted(unknown)})
    with transaction.atomic():
        obj = InvoiceSettings.objects.select_for_update().filter(pk=1).first() or InvoiceSettings()
        for name, value in changes.items():
            setattr(obj, name, value)
        invoice_settings_validate(obj=obj)
        obj.save()
    return obj

"""The PII settings record: read by every scan (so a change counts for the next message, no
restart), changed in the admin (or `pii_settings_update`), validated before it is saved.

With no saved record the environment's values apply (PII_DETECTION_ENABLED, PII_TYPES,
PII_FINDING_ACTION); once saved in the admin, the record wins.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from pii.models import PiiSettings

EDITABLE = {"detection_enabled", "types", "finding_action"}


class PiiSettingsError(ValueError):
    """A change was refused; nothing was saved. `errors` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(
            "invalid PII settings: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        )


def pii_settings_get() -> PiiSettings:
    return PiiSettings.objects.filter(pk=1).first() or PiiSettings()


def pii_settings_validate(*, obj: PiiSettings) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise PiiSettingsError(exc.message_dict) from None


def pii_settings_update(**changes: Any) -> PiiSettings:
    """Change settings by name, e.g. `pii_settings_update(finding_action="notify")`."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise PiiSettingsError({k: ["not a setting"] for k in sorted(unknown)})
    with transaction.atomic():
        obj = PiiSettings.objects.select_for_update().filter(pk=1).first() or PiiSettings()
        for name, value in changes.items():
            setattr(obj, name, value)
        pii_settings_validate(obj=obj)
        obj.save()
    return obj

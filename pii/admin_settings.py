"""The PII settings page (Pii → PII settings): detection on/off, the types looked for, and
whether a finding is deleted or only reported to its author; audited in the admin log."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from pii.config import pii_settings_validate
from pii.findings import TYPES
from pii.models import PiiSettings
from project.settings_admin import RunTimeSettingsAdmin, SettingsForm


class PiiSettingsForm(SettingsForm):
    validator = staticmethod(pii_settings_validate)
    types = forms.MultipleChoiceField(
        label="Types looked for",
        choices=[(t, t) for t in TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,  # none at all is refused with a clear message while detection is on
    )

    class Meta:
        model = PiiSettings
        fields = ["detection_enabled", "types", "finding_action"]


@admin.register(PiiSettings)
class PiiSettingsAdmin(RunTimeSettingsAdmin):
    form = PiiSettingsForm
    description = (
        "Read by every scan: a change counts from the next message, no "
        "restart. Until saved here, the environment's values apply (PII_DETECTION_ENABLED, "
        "PII_TYPES, PII_FINDING_ACTION)."
    )

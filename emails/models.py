"""E-mail log, SES events and the suppression list."""
from __future__ import annotations

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
        return f"{self.address} ({self.reason})"

    def save(self, *args, **kwargs) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)

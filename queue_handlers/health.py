"""Readiness parts of the "handlers" section that depend on configuration.

Webhooks are sent signed only: without WEBHOOK_SIGNING_SECRET every webhook job fails. That is
a failure once webhooks are in use (a webhook job in the last day), and only a warning on a
deployment that never sends one (a fresh `make run`: not configured, nothing broken).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from queue_handlers.registry import known_types


def webhook_signing() -> dict[str, Any]:
    """{"ok", "warning"|"error"} for the webhook handler's signing secret."""
    from queue_handlers.models import HandlerJob

    if "webhook" not in known_types() or settings.WEBHOOK_SIGNING_SECRET:
        return {"ok": True}
    since = timezone.now() - timedelta(days=1)
    used = HandlerJob.objects.filter(job_type="webhook", created_at__gte=since).count()
    if used:
        return {
            "ok": False,
            "error": f"WEBHOOK_SIGNING_SECRET is not set: all {used} webhook job(s) of the last day fail "
            "(webhooks are sent signed only)",
        }
    return {"ok": True, "warning": "WEBHOOK_SIGNING_SECRET is not set: webhook jobs would fail"}

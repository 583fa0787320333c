"""/healthz section: has the current day's sync run (or is it still early enough not to worry)?"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from sync.models import SyncRun
from sync.runs import sync_slot


def check_sync() -> dict[str, Any]:
    now = timezone.now()
    slot = sync_slot(now=now)
    run = SyncRun.objects.filter(local_date=slot.local_date).first()
    last = SyncRun.objects.order_by("-started_at").first()
    report: dict[str, Any] = {
        "schedule_enabled": slot.enabled,
        "local_date": str(slot.local_date),
        "day_run": run.state if run else None,
        "last_run": {"id": last.pk, "state": last.state, "started_at": last.started_at.isoformat()}
        if last
        else None,
    }
    lag = (now - slot.at).total_seconds()
    report["ok"] = (not slot.enabled) or run is not None or lag < settings.SYNC_HEALTH_MAX_LAG
    return report

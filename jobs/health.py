"""Health checks: database, broker, beat and workers, each with a short timeout.

Apps add sections with `register_check(name, fn)`; fn returns a dict with "ok" (bool) and any
detail an operator needs. A failing section makes /healthz answer 503 and name it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

Check = Callable[[], dict[str, Any]]
_extra: dict[str, Check] = {}


def register_check(name: str, fn: Check) -> None:
    _extra[name] = fn


def check_database() -> dict[str, Any]:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    started = time.perf_counter()
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=2,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        if settings.EMBEDDED_MODE:
            mode = "embedded (filesystem broker, single machine)"
        else:
            conn.default_channel.client.ping()
            mode = "redis"
    return {"ok": True, "mode": mode, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_beat() -> dict[str, Any]:
    from jobs.models import Heartbeat

    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        return {"ok": False, "error": "beat has never ticked"}
    age = (timezone.now() - beat.at).total_seconds()
    return {"ok": age <= settings.HEALTH_BEAT_MAX_AGE, "age_s": round(age, 1)}


def check_workers() -> dict[str, Any]:
    replies = current_app.control.ping(timeout=1.0) or []
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "workers": names}


def run_checks(only: list[str] | None = None) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Check] = {
        "database": check_database,
        "broker": check_broker,
        "beat": check_beat,
        "workers": check_workers,
        **_extra,
    }
    report: dict[str, Any] = {}
    for name, fn in checks.items():
        if only and name not in only:
            continue
        if name == "workers" and report.get("broker", {}).get("ok") is False:
            report[name] = {"ok": False, "error": "broker unreachable"}
            continue
        try:
            report[name] = fn()
        except Exception as exc:
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    failing = [name for name, r in report.items() if not r.get("ok")]
    return not failing, {"status": "ok" if not failing else "failing", "failing": failing, "checks": report}

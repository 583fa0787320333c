"""Health for two audiences.

- Liveness (`GET /healthz`, public): "is this process serving?" — answered without touching the
  database, the broker or a worker, in a few bytes; it discloses nothing.
- Readiness (`GET /healthz/ready` with the health token or an admin login, `manage.py health`):
  database, broker, beat, workers and the sections apps add with `register_check(name, fn)`.
  fn returns a dict with "ok" (bool); a failing section should also say `error` (why) and `fix`
  (what to do). The web view serves a cached report (HEALTH_CACHE_SECONDS) computed by one
  request at a time, so probes cannot pile up on the broker and starve real requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.utils import timezone
from kombu import Connection

from jobs.broker.queues import worker_command

Check = Callable[[], dict[str, Any]]
_extra: dict[str, Check] = {}

_FIXES = {
    "database": "check DATABASE_URL and that the database answers; then `make manage ARGS=migrate`",
    "broker": "start Redis (or unset REDIS_URL for the single-machine mode) and check REDIS_URL",
    "beat": "run exactly one beat: `celery -A project beat -l INFO` (`make run` starts one)",
    "workers": "start a worker: `{worker_command}` (`make run` starts one)",
}


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
            conn.default_channel.client.ping()  # type: ignore[attr-defined]
            mode = "redis"
    return {"ok": True, "mode": mode, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_beat() -> dict[str, Any]:
    from jobs.models import Heartbeat

    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        return {"ok": False, "error": "beat has never ticked"}
    age = (timezone.now() - beat.at).total_seconds()
    ok = age <= settings.HEALTH_BEAT_MAX_AGE
    report: dict[str, Any] = {"ok": ok, "age_s": round(age, 1)}
    if not ok:
        report["error"] = f"beat's last tick was {age:.0f} s ago (limit {settings.HEALTH_BEAT_MAX_AGE} s)"
    return report


class _Expected:
    """How many workers answered the last full ping, and when that was."""

    count = 0
    full_at = 0.0


FULL_PING_EVERY = 60.0


def ping_workers(timeout: float) -> list[str]:
    """Names of the workers that answered, without waiting out the timeout when all known ones did.

    Celery's `ping` waits its full timeout unless told how many replies to expect (`limit`): we
    expect as many as answered the last full ping, so a healthy cluster answers in milliseconds.
    Once a minute (and whenever fewer answer than expected) one full ping re-counts, so a worker
    that joined or left is seen within a minute.
    """
    full = not _Expected.count or time.monotonic() - _Expected.full_at > FULL_PING_EVERY
    replies = current_app.control.ping(timeout=timeout, limit=None if full else _Expected.count) or []
    names = sorted(name for reply in replies for name in reply)
    if full or len(names) < _Expected.count:
        _Expected.count, _Expected.full_at = len(names), time.monotonic()
    return names


def check_workers() -> dict[str, Any]:
    started = time.perf_counter()
    names = ping_workers(settings.HEALTH_PING_TIMEOUT)
    report: dict[str, Any] = {
        "ok": bool(names),
        "workers": names,
        "ping_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if not names:
        report["error"] = f"no worker answered a ping within {settings.HEALTH_PING_TIMEOUT:g} s"
    return report


def check_queues() -> dict[str, Any]:
    """Paused and limited queues are not a failure, but an operator must see them."""
    from jobs.models import QueueControl

    controls = list(QueueControl.objects.filter(paused=True)) + list(
        QueueControl.objects.filter(paused=False, global_limit__isnull=False)
    )
    return {
        "ok": True,
        "paused": sorted(c.queue for c in controls if c.paused),
        "limited": {c.queue: c.global_limit for c in controls if c.global_limit is not None},
    }


def run_checks(only: list[str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Run every check now (uncached); each failing section says why and what to do."""
    checks: dict[str, Check] = {
        "database": check_database,
        "broker": check_broker,
        "beat": check_beat,
        "workers": check_workers,
        "queues": check_queues,
        **_extra,
    }
    report: dict[str, Any] = {}
    for name, fn in checks.items():
        if only and name not in only:
            continue
        if name == "workers" and report.get("broker", {}).get("ok") is False:
            report[name] = {"ok": False, "error": "broker unreachable, so no worker can be asked"}
        else:
            try:
                report[name] = fn()
            except Exception as exc:
                report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if not report[name].get("ok"):
            report[name].setdefault("error", "the check reported a failure without a reason")
            fix = _FIXES.get(name, f"see docs/OPERATIONS.md, section {name}")
            report[name].setdefault("fix", fix.format(worker_command=worker_command()))
    failing = [name for name, r in report.items() if not r.get("ok")]
    return not failing, {"status": "ok" if not failing else "failing", "failing": failing, "checks": report}


class _Cache:
    lock = threading.Lock()
    at = 0.0
    value: tuple[bool, dict[str, Any]] | None = None


def readiness() -> tuple[bool, dict[str, Any]]:
    """The readiness report, at most HEALTH_CACHE_SECONDS old, computed by one caller at a time."""
    max_age = settings.HEALTH_CACHE_SECONDS
    if _Cache.value is not None and time.monotonic() - _Cache.at < max_age:
        return _Cache.value
    with _Cache.lock:
        if _Cache.value is not None and time.monotonic() - _Cache.at < max_age:
            return _Cache.value  # another request computed it while this one waited
        ok, report = run_checks()
        report["generated_at"] = timezone.now().isoformat()
        _Cache.value, _Cache.at = (ok, report), time.monotonic()
        return ok, report


def readiness_reset(**kwargs: Any) -> None:
    """Forget the cached report (settings changed, or an operator just acted)."""
    _Cache.value = None


setting_changed.connect(readiness_reset, dispatch_uid="jobs.observe.health.readiness_reset")
